"""End to end: the installed cam-gitops as a real subprocess against the emulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import desired, git, live_seed, make_repo, plan_json, write_models
from emulator_fixtures import cam_arn

from cam_gitops.emulator import EmulatorServer, Faults

pytestmark = pytest.mark.e2e

Start = Callable[..., EmulatorServer]


def test_plan_apply_converges(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    server = seeded_emulator(seed=live_seed(3))
    root = make_repo(
        tmp_path / "repo",
        {f"cam-{i}": desired(f"cam-{i}") for i in range(2)} | {"cam-2": desired("cam-2", minMatchingSeedSize=None)},
    )
    code, plan = plan_json(run, root, "--detailed-exitcode")
    assert code == 2
    actions = {c["path"]: c["action"] for c in plan["changes"]}
    assert actions["models/cam-0.yaml"] == "update"
    first = plan["changes"][0]
    assert first["diff"] == {"minMatchingSeedSize": {"from": 500, "to": 1000}}

    applied = run(root, "apply", "--report", "report.json")
    assert applied.returncode == 0, applied.stderr
    report = json.loads((root / "report.json").read_text())
    assert [r["result"] for r in report["results"]] == ["applied", "applied", "no-op"]
    assert server.store.get(cam_arn("cam-0"))["minMatchingSeedSize"] == 1000
    # cam-2's file does not set minMatchingSeedSize: PATCH leaves the live value alone.
    assert server.store.get(cam_arn("cam-2"))["minMatchingSeedSize"] == 500
    assert "Apply: 2 applied, 1 unchanged." in applied.stdout

    code, again = plan_json(run, root, "--detailed-exitcode")
    assert code == 0
    assert {c["action"] for c in again["changes"]} == {"no-op"}
    rerun = run(root, "apply")
    assert rerun.returncode == 0 and "Apply: 3 unchanged." in rerun.stdout


def test_plan_text_and_markdown(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    seeded_emulator(seed=live_seed(2))
    root = make_repo(
        tmp_path / "repo",
        {"cam-0": desired("cam-0"), "cam-1": desired("cam-1", description=None, minMatchingSeedSize=500)},
    )
    text = run(root, "plan")
    assert text.returncode == 0
    assert "~ models/cam-0.yaml" in text.stdout
    assert "    minMatchingSeedSize: 500 -> 1000" in text.stdout
    assert "= models/cam-1.yaml" in text.stdout
    assert "Plan: 1 to update, 1 unchanged, 0 errors." in text.stdout
    markdown = run(root, "plan", "--format", "markdown").stdout
    assert markdown.startswith("<!-- cam-gitops-plan -->")
    assert "**1 to update, 1 unchanged, 0 errors**" in markdown
    assert "<details><summary><code>models/cam-0.yaml</code>: update</summary>" in markdown
    assert "| `minMatchingSeedSize` | `500` | `1000` |" in markdown


def test_not_found_and_partial_failure(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    server = seeded_emulator(seed=live_seed(2))
    root = make_repo(
        tmp_path / "repo", {"cam-0": desired("cam-0"), "cam-1": desired("cam-1"), "ghost": desired("ghost")}
    )
    code, plan = plan_json(run, root)
    assert code == 1
    ghost = next(c for c in plan["changes"] if c["path"] == "models/ghost.yaml")
    assert ghost["action"] == "error"
    assert ghost["error"].startswith("ResourceNotFoundException:")
    applied = run(root, "apply", "--report", "r.json")
    assert applied.returncode == 1
    results = {r["path"]: r for r in json.loads((root / "r.json").read_text())["results"]}
    assert results["models/ghost.yaml"]["result"] == "failed"
    assert results["models/cam-0.yaml"]["result"] == "applied"
    assert server.store.get(cam_arn("cam-1"))["minMatchingSeedSize"] == 1000


@pytest.mark.parametrize(
    ("code", "expected"),
    [("AccessDeniedException", "AccessDeniedException"), ("ValidationException", "ValidationException")],
)
def test_client_errors_fail_the_model_at_once(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any], code: str, expected: str
) -> None:
    server = seeded_emulator(seed=live_seed(2))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0"), "cam-1": desired("cam-1")})
    server.faults.fail_next(cam_arn("cam-0"), code, times=100)
    applied = run(root, "apply", "--report", "r.json")
    assert applied.returncode == 1
    results = {r["path"]: r for r in json.loads((root / "r.json").read_text())["results"]}
    assert results["models/cam-0.yaml"]["result"] == "failed"
    assert results["models/cam-0.yaml"]["error"].startswith(expected)
    assert results["models/cam-1.yaml"]["result"] == "applied"
    gets = [r for r in server.requests if r.arn == cam_arn("cam-0") and r.operation == "GetConfiguredAudienceModel"]
    assert len(gets) == 1  # not retried


def test_conflict_is_retried_then_reported(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    server = seeded_emulator(seed=live_seed(3))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(3)})
    server.faults.fail_next(cam_arn("cam-0"), "ConflictException", times=2)
    server.faults.conflict_arns = {cam_arn("cam-1")}
    applied = run(root, "apply", "--report", "r.json")
    assert applied.returncode == 1
    results = {r["path"]: r for r in json.loads((root / "r.json").read_text())["results"]}
    assert (results["models/cam-0.yaml"]["result"], results["models/cam-0.yaml"]["attempts"]) == ("applied", 3)
    assert results["models/cam-1.yaml"]["result"] == "failed"
    assert results["models/cam-1.yaml"]["error"].startswith("ConflictException")
    assert results["models/cam-1.yaml"]["attempts"] == 4
    assert results["models/cam-2.yaml"]["result"] == "applied"


def test_throttling_storm_and_5xx_are_retried(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    faults = Faults(throttle_rate=0.4, error_rate=0.1, fault_seed=7)
    server = seeded_emulator(seed=live_seed(12), faults=faults)
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(12)})
    applied = run(root, "apply", "--max-attempts", "12", "--concurrency", "4")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply: 12 applied." in applied.stdout
    statuses = {r.status for r in server.requests}
    assert 429 in statuses and 500 in statuses  # the storm really happened
    server.faults.throttle_rate = server.faults.error_rate = 0.0
    assert plan_json(run, root, "--detailed-exitcode")[0] == 0


def test_dropped_connections_are_retried(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    server = seeded_emulator(seed=live_seed(6), faults=Faults(drop_rate=0.3, fault_seed=3))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(6)})
    applied = run(root, "apply", "--max-attempts", "10")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert any(r.status == 0 or r.status is None for r in server.requests) or server.faults.drop_rate > 0
    server.faults.drop_rate = 0.0
    assert all(server.store.get(cam_arn(f"cam-{i}"))["minMatchingSeedSize"] == 1000 for i in range(6))


def test_account_guard_refuses_other_accounts(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    other = "210987654321"
    seed = live_seed(1)
    foreign = dict(seed["configuredAudienceModels"][0], configuredAudienceModelArn=cam_arn("far", account=other))
    seed["configuredAudienceModels"].append(foreign)
    server = seeded_emulator(seed=seed)
    far = desired("cam-0", configuredAudienceModelArn=cam_arn("far", account=other))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0"), "far": far})
    applied = run(root, "apply", "--report", "r.json")
    assert applied.returncode == 1
    results = {r["path"]: r for r in json.loads((root / "r.json").read_text())["results"]}
    assert results["models/far.yaml"]["result"] == "refused"
    assert f"account {other}" in results["models/far.yaml"]["error"]
    assert results["models/cam-0.yaml"]["result"] == "applied"
    assert not [r for r in server.requests if r.arn == cam_arn("far", account=other)]


OTHER_ACCOUNT = "210987654321"


def _model_in_another_account(tmp_path: Path, seeded_emulator: Start) -> tuple[Any, Path]:
    """The emulator with one model in OTHER_ACCOUNT, and a repository managing it."""
    seed = live_seed(1)
    seed["configuredAudienceModels"][0]["configuredAudienceModelArn"] = cam_arn("far", account=OTHER_ACCOUNT)
    server = seeded_emulator(seed=seed)
    arn = cam_arn("far", account=OTHER_ACCOUNT)
    return server, make_repo(tmp_path / "repo", {"far": desired("far", configuredAudienceModelArn=arn)})


def test_role_template_assumes_a_role_per_account(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    server, root = _model_in_another_account(tmp_path, seeded_emulator)
    applied = run(root, "apply", "--role-arn-template", "arn:aws:iam::{account}:role/cam-gitops-apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert ("sts", "AssumeRole") in {(r.service, r.operation) for r in server.requests}
    assert server.store.get(cam_arn("far", account=OTHER_ACCOUNT))["minMatchingSeedSize"] == 1000


@pytest.mark.parametrize("value", ["arn:aws:iam::{account}:role/cam-gitops-apply", ""])
def test_the_role_template_can_come_from_the_environment_as_ci_sets_it(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """The shipped CI passes a repository variable as CAM_GITOPS_ROLE_ARN_TEMPLATE; unset there,
    it is empty, which means no role (one account)."""
    server, root = _model_in_another_account(tmp_path, seeded_emulator)
    monkeypatch.setenv("CAM_GITOPS_ROLE_ARN_TEMPLATE", value)
    applied = run(root, "apply", "--report", "r.json")
    result = json.loads((root / "r.json").read_text())["results"][0]
    if value:
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert result["result"] == "applied"
        assert server.store.get(cam_arn("far", account=OTHER_ACCOUNT))["minMatchingSeedSize"] == 1000
    else:
        assert applied.returncode == 1
        assert result["result"] == "refused" and "--role-arn-template" in result["error"]
        assert ("sts", "AssumeRole") not in {(r.service, r.operation) for r in server.requests}


def test_a_file_check_refuses_is_reported_and_the_others_are_applied(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    server = seeded_emulator(seed=live_seed(2))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", minMatchingSeedSize=10), "cam-1": desired("cam-1")})
    applied = run(root, "apply", "--report", "r.json")
    assert applied.returncode == 1
    assert "models/cam-0.yaml:" in applied.stderr and "[schema]" in applied.stderr
    results = {r["path"]: r for r in json.loads((root / "r.json").read_text())["results"]}
    assert results["models/cam-0.yaml"]["result"] == "refused"
    assert results["models/cam-0.yaml"]["error"].startswith("check: [schema]")
    assert results["models/cam-1.yaml"]["result"] == "applied"
    assert not [r for r in server.requests if r.arn == cam_arn("cam-0")]  # nothing sent for the bad file
    assert server.store.get(cam_arn("cam-0"))["minMatchingSeedSize"] == 500


def test_changed_since_limits_calls_and_reports_cannot_unset_and_deleted(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    server = seeded_emulator(seed=live_seed(5))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(5)})
    write_models(
        root, {"cam-1": desired("cam-1", description=None), "cam-2": desired("cam-2", minMatchingSeedSize=2000)}
    )
    (root / "models/cam-3.yaml").unlink()
    git(root, "add", "-A")
    git(root, "commit", "-qm", "change")
    server.clear_requests()
    code, plan = plan_json(run, root, "--changed-since", "HEAD~1")
    assert code == 1
    by_path = {c["path"]: c for c in plan["changes"]}
    assert set(by_path) == {"models/cam-1.yaml", "models/cam-2.yaml", "models/cam-3.yaml"}
    assert by_path["models/cam-1.yaml"]["action"] == "cannot-unset"
    assert "description" in by_path["models/cam-1.yaml"]["error"]
    assert by_path["models/cam-2.yaml"]["action"] == "update"
    assert by_path["models/cam-3.yaml"]["action"] == "unmanaged"
    arns = {r.arn for r in server.requests if r.service == "cleanrooms-ml"}
    assert arns == {cam_arn("cam-1"), cam_arn("cam-2")}
    applied = run(root, "apply", "--changed-since", "HEAD~1", "--report", "r.json")
    assert applied.returncode == 1
    results = {r["path"]: r["result"] for r in json.loads((root / "r.json").read_text())["results"]}
    assert results == {"models/cam-1.yaml": "failed", "models/cam-2.yaml": "applied", "models/cam-3.yaml": "unmanaged"}
    assert cam_arn("cam-3") in {m["configuredAudienceModelArn"] for m in server.store.list()}


def test_changed_since_unknown_revision_is_a_usage_error(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    seeded_emulator(seed=live_seed(1))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    completed = run(root, "plan", "--changed-since", "no-such-rev", "--detailed-exitcode")
    assert completed.returncode == 4  # never 2, which means "changes pending"
    assert "no such commit" in completed.stderr


def test_drift_then_import_then_plan_is_clean(tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]) -> None:
    seeded_emulator(seed=live_seed(3))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", minMatchingSeedSize=500)})
    drifted = run(root, "drift", "--format", "json")
    assert drifted.returncode == 2
    changes = json.loads(drifted.stdout)["changes"]
    unmanaged = sorted(c["arn"] for c in changes if c["action"] == "unmanaged")
    assert unmanaged == [cam_arn("cam-1"), cam_arn("cam-2")]
    imported = run(root, "import", "--all")
    assert imported.returncode == 0, imported.stderr
    assert (root / "models/cam-1.yaml").exists() is False or "wrote" in imported.stdout
    written = sorted(p.name for p in (root / "models").iterdir())
    assert written == ["cam-0.yaml", "cam-1.yaml", "cam-2.yaml"]
    assert run(root, "check").returncode == 0
    assert run(root, "plan", "--detailed-exitcode").returncode == 0
    assert run(root, "drift").returncode == 0


def test_no_credentials_is_one_clear_error(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded_emulator(seed=live_seed(1))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    completed = run(root, "plan")
    assert completed.returncode == 1
    assert "no AWS credentials found" in completed.stderr
    assert "Traceback" not in completed.stderr
