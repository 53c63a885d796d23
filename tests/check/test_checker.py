"""The checker over many files: the parallel path gives exactly the serial path's result."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import ARN, STRICT_POLICY, model_text

from cam_gitops.check.checker import PARALLEL_THRESHOLD, run_check
from cam_gitops.check.policy import Policy
from cam_gitops.workspace.layout import ModelFile

COUNT = PARALLEL_THRESHOLD + 20


def files(tmp_path: Path) -> list[ModelFile]:
    """COUNT model files; the first, a middle one and the last break a rule, two share an ARN."""
    made = []
    for index in range(COUNT):
        arn = ARN.replace("0001", f"{index:04d}")
        seed = 100 if index in (0, COUNT // 2, COUNT - 1) else 1500
        if index == COUNT - 2:
            arn = ARN.replace("0001", "0000")  # the same ARN as the first file
        path = tmp_path / "models" / f"m{index:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(model_text(arn=arn, minMatchingSeedSize=seed))
        made.append(ModelFile(path, f"models/m{index:04d}.yaml"))
    return made


@pytest.mark.parametrize("keep_models", [False, True])
def test_parallel_check_equals_serial_check(tmp_path: Path, keep_models: bool) -> None:
    policy = Policy("policy.yaml", STRICT_POLICY["rules"])
    model_files = files(tmp_path)
    serial = run_check(model_files, policy, keep_models=keep_models, jobs=1)
    parallel = run_check(model_files, policy, keep_models=keep_models, jobs=2)
    assert parallel.findings == serial.findings
    assert parallel.files_checked == serial.files_checked == COUNT
    flagged = {(f.path, f.rule) for f in parallel.findings}
    assert ("models/m0000.yaml", "min-matching-seed-size") in flagged
    assert (f"models/m{COUNT - 1:04d}.yaml", "min-matching-seed-size") in flagged
    assert (f"models/m{COUNT // 2:04d}.yaml", "min-matching-seed-size") in flagged
    assert ("models/m0000.yaml", "duplicate-arn") in flagged
    assert (f"models/m{COUNT - 2:04d}.yaml", "duplicate-arn") in flagged
    if keep_models:
        assert [m.path for m in parallel.models] == [m.path for m in serial.models]
        assert [m.desired for m in parallel.models] == [m.desired for m in serial.models]
        assert len(parallel.models) == COUNT
    else:
        assert parallel.models == []
