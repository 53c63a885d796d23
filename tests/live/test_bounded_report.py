"""Nothing unreported once apply has sent an update: signals, internal errors, hostile strings.

Every test checks the report against what the emulator really received: a model with an update
request is reported `applied` or `unknown` (never `not-started`), and one without, never applied.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import CAM_GITOPS, desired, live_seed, make_repo
from emulator_fixtures import cam_arn

from cam_gitops import cli
from cam_gitops.emulator import EmulatorServer, Faults
from cam_gitops.live import apply as apply_module
from cam_gitops.live.apply import Applier, ApplyResult
from cam_gitops.live.targets import Target

pytestmark = pytest.mark.e2e

Start = Callable[..., EmulatorServer]
UPDATE = "UpdateConfiguredAudienceModel"


class HoldUpdate(Faults):
    """Holds the update of one model at the emulator until released, and says when it arrived."""

    def __init__(self, arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.held_arn = arn
        self.arrived = threading.Event()
        self.release = threading.Event()

    def decide(self, operation: str, arn: str | None) -> Any:
        if operation == UPDATE and arn == self.held_arn:
            self.arrived.set()
            self.release.wait(60)
        return super().decide(operation, arn)


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CI")}
    env["NO_COLOR"] = "1"
    return subprocess.Popen(
        [CAM_GITOPS, "apply", *args],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.communicate()


def _updated(server: EmulatorServer) -> set[str]:
    return {r.arn for r in server.requests if r.operation == UPDATE and r.arn}


def _assert_truthful(
    results: Mapping[str, Mapping[str, Any]], server: EmulatorServer, count: int, held: frozenset[str] = frozenset()
) -> None:
    """Every model is reported, and what the report says matches what the emulator saw (an update
    the emulator still holds is not in its log yet)."""
    assert sorted(results) == [f"models/cam-{i}.yaml" for i in range(count)]
    updated = _updated(server) | held
    for i in range(count):
        entry = results[f"models/cam-{i}.yaml"]
        if cam_arn(f"cam-{i}") in updated:
            assert entry["result"] in ("applied", "unknown"), entry
        else:
            assert entry["result"] not in ("applied", "unknown"), entry
        if entry["result"] == "applied":
            assert server.store.get(cam_arn(f"cam-{i}"))["minMatchingSeedSize"] == 1000


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_apply_reports_what_was_applied_and_what_was_not_started(
    tmp_path: Path, seeded_emulator: Start, processes: list[subprocess.Popen[str]], signum: signal.Signals
) -> None:
    server = seeded_emulator(seed=live_seed(8), faults=Faults(latency_ms=300))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(8)})
    process = _start(root, "--concurrency", "2", "--report", "r.json")
    processes.append(process)
    assert process.stderr is not None
    progress = []
    for line in process.stderr:  # progress lines, one per finished model
        progress.append(line)
        if ": applied" in line:
            process.send_signal(signum)
            break
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    report = json.loads((root / "r.json").read_text())
    assert report["stopped"] == f"interrupted by {signum.name}"
    results = {r["path"]: r for r in report["results"]}
    _assert_truthful(results, server, 8)
    kinds = [r["result"] for r in results.values()]
    assert "applied" in kinds and "not-started" in kinds  # two at a time: most never started
    assert set(kinds) <= {"applied", "unknown", "not-started"}
    for path, entry in results.items():
        assert f"{path}  {entry['result']}" in stdout  # the table on the screen has every model
    assert f"cam-gitops: interrupted by {signum.name}" in stderr
    assert "run apply again to converge" in stderr
    assert not (root / "r.json.jsonl").exists()


def test_an_update_in_flight_when_apply_is_told_twice_to_stop_is_unknown(
    tmp_path: Path, seeded_emulator: Start, processes: list[subprocess.Popen[str]]
) -> None:
    faults = HoldUpdate(cam_arn("cam-1"))
    server = seeded_emulator(seed=live_seed(4), faults=faults)
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(4)})
    process = _start(root, "--concurrency", "1", "--report", "r.json")
    processes.append(process)
    try:
        assert faults.arrived.wait(60)
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGINT)  # the second stops the wait for the call in flight
        stdout, _ = process.communicate(timeout=30)
    finally:
        faults.release.set()
    assert process.returncode == 130
    results = {r["path"]: r for r in json.loads((root / "r.json").read_text())["results"]}
    assert results["models/cam-0.yaml"]["result"] == "applied"
    assert results["models/cam-1.yaml"]["result"] == "unknown"
    assert results["models/cam-1.yaml"]["error"].startswith("update sent, outcome unknown: run plan")
    assert [results[f"models/cam-{i}.yaml"]["result"] for i in (2, 3)] == ["not-started", "not-started"]
    assert "models/cam-1.yaml  unknown       update sent, outcome unknown: run plan" in stdout
    _assert_truthful(results, server, 4, held=frozenset({cam_arn("cam-1")}))


def test_the_journal_keeps_what_is_known_when_apply_is_killed_outright(
    tmp_path: Path, seeded_emulator: Start, processes: list[subprocess.Popen[str]]
) -> None:
    faults = HoldUpdate(cam_arn("cam-1"))
    seeded_emulator(seed=live_seed(3), faults=faults)
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(3)})
    process = _start(root, "--concurrency", "1", "--report", "r.json")
    processes.append(process)
    try:
        assert faults.arrived.wait(60)
        process.send_signal(signal.SIGKILL)  # no handler runs: only the journal can tell
        process.communicate(timeout=30)
    finally:
        faults.release.set()
    assert not (root / "r.json").exists()
    last: dict[str, dict[str, Any]] = {}
    for line in (root / "r.json.jsonl").read_text().splitlines():
        entry = json.loads(line)
        last[entry["path"]] = entry
    assert last["models/cam-0.yaml"]["result"] == "applied"
    assert last["models/cam-1.yaml"]["result"] == "unknown"  # written just before its update went out
    assert "models/cam-2.yaml" not in last


def _apply_in_process(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(root)
    return cli.main(["apply", "--report", "r.json", *args])


def test_an_internal_error_in_one_model_is_that_models_failure_and_the_others_are_applied(
    tmp_path: Path, seeded_emulator: Start, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = seeded_emulator(seed=live_seed(5))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(5)})
    real_diff, real_plan, real_apply = apply_module.diff_fields, apply_module.plan_target, Applier.apply

    def diff_after_update(wanted: Any, live: Any) -> Any:
        if live.get("configuredAudienceModelArn") == cam_arn("cam-1"):
            raise TypeError("unexpected live value")  # the update has been sent
        return real_diff(wanted, live)

    def plan_before_update(target: Target, *rest: Any) -> Any:
        if target.arn == cam_arn("cam-2"):
            raise ValueError("cannot plan this one")  # nothing sent yet
        return real_plan(target, *rest)

    def apply_then_fail(self: Applier, target: Target) -> ApplyResult:
        result = real_apply(self, target)
        if target.arn == cam_arn("cam-3"):
            raise RuntimeError("after the update")  # escapes the applier: run_parallel catches it
        return result

    monkeypatch.setattr(apply_module, "diff_fields", diff_after_update)
    monkeypatch.setattr(apply_module, "plan_target", plan_before_update)
    monkeypatch.setattr(Applier, "apply", apply_then_fail)
    assert _apply_in_process(root, monkeypatch) == 1
    screen = capsys.readouterr()
    results = {r["path"]: r for r in json.loads((root / "r.json").read_text())["results"]}
    assert {p: r["result"] for p, r in results.items()} == {
        "models/cam-0.yaml": "applied",
        "models/cam-1.yaml": "unknown",
        "models/cam-2.yaml": "failed",
        "models/cam-3.yaml": "unknown",
        "models/cam-4.yaml": "applied",
    }
    assert results["models/cam-1.yaml"]["error"] == (
        "update sent, outcome unknown: run plan (internal error TypeError: unexpected live value)"
    )
    assert results["models/cam-1.yaml"]["attempts"] == 1
    assert results["models/cam-2.yaml"]["error"] == (
        "internal error ValueError: cannot plan this one (nothing was sent; please report it)"
    )
    assert "internal error RuntimeError: after the update" in results["models/cam-3.yaml"]["error"]
    _assert_truthful(results, server, 5)
    assert "Apply: 2 applied, 1 failed, 2 unknown." in screen.out
    assert "Traceback" not in screen.err


def test_a_lone_surrogate_never_loses_the_report_or_the_screen(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    server = seeded_emulator(seed=live_seed(2))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    hostile = json.dumps(desired("cam-1", description="SURROGATE")).replace("SURROGATE", "\\ud800")
    (root / "models/cam-1.json").write_text(hostile)
    completed = run(root, "apply", "--report", "r.json", "--format", "json")
    assert completed.returncode in (0, 1), completed.stderr  # never an internal error
    assert "internal error" not in completed.stderr
    report = json.loads((root / "r.json").read_text())
    results = {r["path"]: r for r in report["results"]}
    assert set(results) == {"models/cam-0.yaml", "models/cam-1.json"}
    assert results["models/cam-0.yaml"]["result"] == "applied"
    hostile_result = results["models/cam-1.json"]["result"]
    if cam_arn("cam-1") in _updated(server):
        assert hostile_result in ("applied", "unknown", "failed")
    else:
        assert hostile_result in ("refused", "failed")  # refused by check: nothing sent
    on_screen = {r["path"]: r["result"] for r in json.loads(completed.stdout)["results"]}
    assert on_screen == {path: r["result"] for path, r in results.items()}


def test_an_internal_error_planning_one_model_is_that_models_error(
    tmp_path: Path, seeded_emulator: Start, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cam_gitops.live import runs

    seeded_emulator(seed=live_seed(3))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(3)})
    real_plan = runs.plan_target

    def plan_or_fail(target: Target, *rest: Any) -> Any:
        if target.arn == cam_arn("cam-1"):
            raise ValueError("cannot plan this one")
        return real_plan(target, *rest)

    monkeypatch.setattr(runs, "plan_target", plan_or_fail)
    monkeypatch.chdir(root)
    assert cli.main(["plan", "--format", "json"]) == 1
    changes = {c["path"]: c for c in json.loads(capsys.readouterr().out)["changes"]}
    assert [changes[f"models/cam-{i}.yaml"]["action"] for i in range(3)] == ["update", "error", "update"]
    assert changes["models/cam-1.yaml"]["error"] == (
        "internal error while planning: ValueError: cannot plan this one; please report it"
    )
