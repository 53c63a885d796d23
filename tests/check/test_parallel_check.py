"""When the check runs in parallel, and that it then reports exactly what the serial check does.

tests/check/test_checker.py runs the real forked pool. Here the pool runs in threads of the
test process, so the slicing and reassembly of the parallel path run where tracing tools
(coverage, mutation testing) see them, and the start method and pool size can be read.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.pool import ThreadPool
from pathlib import Path

import pytest
from factories import ARN, STRICT_POLICY, model_text

from cam_gitops.check.checker import PARALLEL_THRESHOLD, run_check
from cam_gitops.check.policy import Policy
from cam_gitops.workspace.layout import ModelFile

POLICY = Policy("policy.yaml", STRICT_POLICY["rules"])


class ThreadContext:
    """Stands in for a multiprocessing context: records what the check asks of it."""

    def __init__(self) -> None:
        self.methods: list[str | None] = []
        self.pools: list[int] = []

    def Pool(self, processes: int) -> ThreadPool:
        self.pools.append(processes)
        return ThreadPool(processes)


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> ThreadContext:
    context = ThreadContext()

    def get_context(method: str | None = None) -> ThreadContext:
        context.methods.append(method)
        return context

    monkeypatch.setattr(multiprocessing, "get_context", get_context)
    return context


def make_files(root: Path, count: int) -> list[ModelFile]:
    """count model files; the first, a middle one and the last break a rule."""
    made = []
    for index in range(count):
        seed = 100 if index in (0, count // 2, count - 1) else 1500
        path = root / "models" / f"m{index:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(model_text(arn=ARN.replace("0001", f"{index:04d}"), minMatchingSeedSize=seed))
        made.append(ModelFile(path, f"models/m{index:04d}.yaml"))
    return made


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> list[ModelFile]:
    return make_files(tmp_path_factory.mktemp("many"), PARALLEL_THRESHOLD + 21)


@pytest.mark.parametrize("jobs", [2, 3, 7])
@pytest.mark.parametrize("keep_models", [False, True])
def test_every_files_findings_come_back_in_order(
    threads: ThreadContext, many: list[ModelFile], jobs: int, keep_models: bool
) -> None:
    parallel = run_check(many, POLICY, jobs=jobs, keep_models=keep_models)
    assert (threads.methods, threads.pools) == (["fork"], [jobs])
    flagged = [f.path for f in parallel.findings if f.rule == "min-matching-seed-size"]
    assert flagged == [many[0].display_path, many[len(many) // 2].display_path, many[-1].display_path]
    serial = run_check(many, POLICY, jobs=1, keep_models=keep_models)
    assert parallel.findings == serial.findings
    assert [m.path for m in parallel.models] == ([f.display_path for f in many] if keep_models else [])


def test_a_duplicate_between_slices_is_found(threads: ThreadContext, tmp_path: Path) -> None:
    files = make_files(tmp_path, PARALLEL_THRESHOLD)
    files[-1].fs_path.write_text(model_text(arn=ARN.replace("0001", "0000"), minMatchingSeedSize=1500))
    result = run_check(files, POLICY, jobs=2)
    assert threads.pools == [2]
    assert [(f.path, f.position.line) for f in result.findings if f.rule == "duplicate-arn"] == [
        (files[0].display_path, 1),
        (files[-1].display_path, 1),
    ]


# (files, jobs, pools started): below the threshold, or with one job, no worker process starts
# (the pre-commit hook stays instant); from the threshold on, one worker per job.
WHEN = [
    ("one file short of the threshold", PARALLEL_THRESHOLD - 1, 2, []),
    ("at the threshold", PARALLEL_THRESHOLD, 2, [2]),
    ("at the threshold, one job", PARALLEL_THRESHOLD, 1, []),
    ("at the threshold, jobs left to the default", PARALLEL_THRESHOLD, None, []),
]


@pytest.mark.parametrize(("case", "count", "jobs", "pools"), WHEN, ids=[c[0] for c in WHEN])
def test_the_check_goes_parallel_from_the_threshold_with_more_than_one_job(
    threads: ThreadContext, many: list[ModelFile], case: str, count: int, jobs: int | None, pools: list[int]
) -> None:
    files = many[:count]
    result = run_check(files, POLICY) if jobs is None else run_check(files, POLICY, jobs=jobs)
    assert threads.pools == pools
    assert result.files_checked == count
    assert next(f.path for f in result.findings if f.rule == "min-matching-seed-size") == files[0].display_path
