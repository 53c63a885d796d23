"""`attempts` in the apply report counts every HTTP request sent for a model's update:
botocore's retries of throttling and 5xx, and apply's own ConflictException retries."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import desired, live_seed, make_repo
from emulator_fixtures import cam_arn

from cam_gitops.emulator import EmulatorServer, Faults
from cam_gitops.emulator.faults import FaultAction

pytestmark = pytest.mark.e2e

Start = Callable[..., EmulatorServer]
UPDATE = "UpdateConfiguredAudienceModel"


class UpdateFaults(Faults):
    """Answers the next updates of a model with the scripted error codes (the Gets are left alone)."""

    def __init__(self, script: dict[str, list[str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = {arn: deque(codes) for arn, codes in script.items()}

    def decide(self, operation: str, arn: str | None) -> Any:
        queue = self.script.get(arn or "")
        if operation == UPDATE and queue:
            code = queue.popleft()
            return FaultAction(code, f"injected {code}")
        return super().decide(operation, arn)


def _update_requests(server: EmulatorServer) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for record in server.requests:
        if record.operation == UPDATE and record.arn:
            counts[record.arn] += 1
    return counts


def _report(root: Path) -> dict[str, dict[str, Any]]:
    return {r["arn"]: r for r in json.loads((root / "r.json").read_text())["results"]}


def test_attempts_count_botocore_retries_and_conflict_retries(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    throttle, conflict, internal = "ThrottlingException", "ConflictException", "InternalServiceException"
    faults = UpdateFaults(
        {
            cam_arn("cam-0"): [throttle, throttle],  # botocore retries twice: 3 requests
            cam_arn("cam-1"): [conflict, throttle, internal],  # 1 + (2 retried by botocore + 1)
            cam_arn("cam-2"): [throttle] * 10,  # botocore gives up after --max-attempts 4
        }
    )
    server = seeded_emulator(seed=live_seed(4), faults=faults)
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(4)})
    completed = run(root, "apply", "--report", "r.json", "--max-attempts", "4")
    assert completed.returncode == 1
    report = _report(root)
    sent = _update_requests(server)
    assert {arn: entry["attempts"] for arn, entry in report.items()} == {
        cam_arn("cam-0"): 3,
        cam_arn("cam-1"): 4,
        cam_arn("cam-2"): 4,
        cam_arn("cam-3"): 1,
    }
    assert {arn: entry["attempts"] for arn, entry in report.items()} == dict(sent)
    assert report[cam_arn("cam-1")]["result"] == "applied"
    assert report[cam_arn("cam-2")]["result"] == "failed"
    assert report[cam_arn("cam-2")]["error"].startswith("ThrottlingException")


def test_attempts_match_the_requests_sent_in_a_throttling_storm(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    # One model at a time: the seeded faults then fall on the same requests every run.
    server = seeded_emulator(seed=live_seed(4), faults=Faults(throttle_rate=0.3, fault_seed=11))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(4)})
    completed = run(root, "apply", "--report", "r.json", "--max-attempts", "12", "--concurrency", "1")
    assert completed.returncode == 0, completed.stderr
    attempts = {arn: entry["attempts"] for arn, entry in _report(root).items()}
    assert attempts == dict(_update_requests(server))
    assert max(attempts.values()) > 1  # the storm reached the updates


def test_no_update_sent_is_zero_attempts(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    seeded_emulator(seed=live_seed(2))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", minMatchingSeedSize=500), "ghost": desired("ghost")})
    completed = run(root, "apply", "--report", "r.json")
    assert completed.returncode == 1
    report = _report(root)
    assert (report[cam_arn("cam-0")]["result"], report[cam_arn("cam-0")]["attempts"]) == ("no-op", 0)
    assert (report[cam_arn("ghost")]["result"], report[cam_arn("ghost")]["attempts"]) == ("failed", 0)
