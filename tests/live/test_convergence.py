"""main == AWS, and AWS obeys the policy: the events real teams meet between merges, end to end.

Each test drives the installed CLI as a subprocess against the emulator over HTTP, running
what the merge job runs (`cam-gitops apply`, a reconcile of every model file).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_helpers import POLICY, commit_all, desired, git, live_seed, make_repo, plan_json, write_models
from emulator_fixtures import cam_arn

from cam_gitops.emulator import EmulatorServer

pytestmark = pytest.mark.e2e

Start = Callable[..., EmulatorServer]
Run = Callable[..., Any]


def report(root: Path, name: str = "r.json") -> dict[str, dict[str, Any]]:
    return {r["path"]: r for r in json.loads((root / name).read_text())["results"]}


def updates_of(server: EmulatorServer, arn: str) -> int:
    return sum(1 for r in server.requests if r.arn == arn and r.operation == "UpdateConfiguredAudienceModel")


# 1. A model that failed on merge N is retried by merge N+1, which touched another file.
def test_a_model_that_failed_is_retried_by_the_next_merge(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    server = seeded_emulator(seed=live_seed(2))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0"), "cam-1": desired("cam-1")})
    server.faults.fail_next(cam_arn("cam-0"), "AccessDeniedException", times=1)
    first = run(root, "apply", "--report", "r.json")
    assert first.returncode == 1
    assert report(root)["models/cam-0.yaml"]["result"] == "failed"

    write_models(root, {"cam-1": desired("cam-1", description="cam-1 lookalikes, v2")})
    commit_all(root, "merge N+1: another file")
    second = run(root, "apply", "--report", "r.json")
    assert second.returncode == 0, second.stdout + second.stderr
    assert report(root)["models/cam-0.yaml"]["result"] == "applied"
    assert server.store.get(cam_arn("cam-0"))["minMatchingSeedSize"] == 1000
    assert run(root, "plan", "--detailed-exitcode").returncode == 0


# 2. Three quick pushes: the middle run is cancelled while pending; the last run applies it too.
def test_a_cancelled_run_loses_nothing(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    server = seeded_emulator(seed=live_seed(3))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}", minMatchingSeedSize=500) for i in range(3)})
    for index in range(3):
        write_models(root, {f"cam-{index}": desired(f"cam-{index}", minMatchingSeedSize=2000 + index)})
        commit_all(root, f"push {index + 1}")
        if index != 1:  # the run of push 2 was cancelled by GitHub while it was pending
            assert run(root, "apply").returncode == 0
    assert [server.store.get(cam_arn(f"cam-{i}"))["minMatchingSeedSize"] for i in range(3)] == [2000, 2001, 2002]


# 4. An expired waiver refuses the model it covered; every other model still converges.
def test_an_expired_waiver_refuses_its_model_only(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    server = seeded_emulator(seed=live_seed(2))
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    policy = {
        "rules": {"require-description": True},
        "waivers": [
            {"path": "models/cam-0.yaml", "rule": "require-description", "reason": "legacy model", "expires": yesterday}
        ],
    }
    models = {"cam-0": desired("cam-0", description=None), "cam-1": desired("cam-1")}
    root = make_repo(tmp_path / "repo", models, policy=policy)
    applied = run(root, "apply", "--report", "r.json")
    assert applied.returncode == 1
    assert "[waiver-expired]" in applied.stderr
    results = report(root)
    assert results["models/cam-0.yaml"]["result"] == "refused"
    assert "[require-description]" in results["models/cam-0.yaml"]["error"]
    assert results["models/cam-1.yaml"]["result"] == "applied"
    assert updates_of(server, cam_arn("cam-0")) == 0

    write_models(root, {"cam-0": desired("cam-0")})
    (root / "policy.yaml").write_text(yaml.safe_dump({"rules": {"require-description": True}}))
    commit_all(root, "fix the model, drop the waiver")
    assert run(root, "apply").returncode == 0
    assert run(root, "plan", "--detailed-exitcode").returncode == 0


# 5. The policy judges the model as it will be: live values the file does not set.
EFFECTIVE = [
    (
        "shared metrics",
        {"allowed-shared-audience-metrics": ["NONE"]},
        {"sharedAudienceMetrics": ["ALL"]},
        "sharedAudienceMetrics",
        "allowed-shared-audience-metrics",
    ),
    (
        "s3 destination",
        {"allowed-s3-prefixes": ["s3://aud/"]},
        {"outputConfig": {"destination": {"s3Destination": {"s3Uri": "s3://elsewhere/x/"}}, "roleArn": cam_arn("r")}},
        "outputConfig",
        "allowed-s3-prefixes",
    ),
    (
        "percentage bins",
        {"audience-size": {"max-percentage": 20}},
        {"audienceSizeConfig": {"audienceSizeType": "PERCENTAGE", "audienceSizeBins": [10, 50]}},
        "audienceSizeConfig",
        "audience-size",
    ),
]


@pytest.mark.parametrize(("case", "rules", "live", "field", "rule"), EFFECTIVE, ids=[c[0] for c in EFFECTIVE])
def test_a_live_value_the_file_does_not_set_is_judged(
    tmp_path: Path,
    seeded_emulator: Start,
    run: Run,
    case: str,
    rules: dict[str, Any],
    live: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    if case == "s3 destination":
        live["outputConfig"]["roleArn"] = desired("cam-0")["outputConfig"]["roleArn"]
    seed = live_seed(1)
    seed["configuredAudienceModels"][0].update(live)
    server = seeded_emulator(seed=seed)
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", **{field: None})}, policy={"rules": rules})
    assert run(root, "check").returncode == 0  # the file alone is fine

    code, plan = plan_json(run, root, "--detailed-exitcode")
    assert code == 1
    change = plan["changes"][0]
    assert change["action"] == "refused"
    assert change["live_values_not_in_file"][field] == live[field]
    [violation] = change["violations"]
    assert violation["rule"] == rule
    assert "(live value; not set in models/cam-0.yaml)" in violation["message"]
    assert f"add {field} to models/cam-0.yaml" in violation["message"]
    text = run(root, "plan").stdout
    assert f"      {field}: " in text  # the live value is listed under "not in the file"

    applied = run(root, "apply", "--report", "r.json")
    assert applied.returncode == 1
    assert report(root)["models/cam-0.yaml"]["result"] == "refused"
    assert updates_of(server, cam_arn("cam-0")) == 0
    assert run(root, "drift").returncode == 2


def test_a_waiver_covers_a_live_value_too(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    seed = live_seed(1)
    seed["configuredAudienceModels"][0]["sharedAudienceMetrics"] = ["ALL"]
    seeded_emulator(seed=seed)
    policy = {
        "rules": {"allowed-shared-audience-metrics": ["NONE"]},
        "waivers": [
            {
                "path": "models/cam-0.yaml",
                "rule": "allowed-shared-audience-metrics",
                "reason": "partner contract until year end",
                "expires": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            }
        ],
    }
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", sharedAudienceMetrics=None)}, policy=policy)
    code, plan = plan_json(run, root)
    assert code == 0
    assert plan["changes"][0]["action"] == "update"
    assert [w["rule"] for w in plan["changes"][0]["waived"]] == ["allowed-shared-audience-metrics"]


# 6. Identity is the ARN: renames, retargets and moves are visible.
def test_rename_and_field_removal_is_cannot_unset(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    seeded_emulator(seed=live_seed(1))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    git(root, "mv", "models/cam-0.yaml", "models/renamed.yaml")
    write_models(root, {"renamed": desired("cam-0", description=None)})
    commit_all(root, "rename and drop the description")
    code, plan = plan_json(run, root, "--changed-since", "HEAD~1")
    assert code == 1
    [change] = plan["changes"]
    assert (change["path"], change["action"], change["moved_from"]) == (
        "models/renamed.yaml",
        "cannot-unset",
        "models/cam-0.yaml",
    )
    assert "description" in change["error"]


def test_an_arn_changed_in_place_is_a_retarget(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    seeded_emulator(seed=live_seed(2))
    root = make_repo(tmp_path / "repo", {"a": desired("cam-0")})
    write_models(root, {"a": desired("cam-1")})
    commit_all(root, "point a.yaml at another model")
    code, plan = plan_json(run, root, "--changed-since", "HEAD~1", "--detailed-exitcode")
    assert code == 2
    by_arn = {c["arn"]: c for c in plan["changes"]}
    assert by_arn[cam_arn("cam-1")]["retarget"] == {"from": cam_arn("cam-0"), "to": cam_arn("cam-1")}
    assert by_arn[cam_arn("cam-0")]["action"] == "unmanaged"
    assert "no longer managed by any file" in by_arn[cam_arn("cam-0")]["error"]
    text = run(root, "plan", "--changed-since", "HEAD~1").stdout
    assert "retarget: this file managed" in text and "1 retarget" in text


def test_a_move_into_a_looser_folder_shows_the_rule_change(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    seeded_emulator(seed=live_seed(1))
    policy = {
        "rules": {"min-matching-seed-size": 1000},
        "overrides": [{"paths": ["models/sandbox/**"], "rules": {"min-matching-seed-size": 100}}],
    }
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")}, policy=policy)
    (root / "models/sandbox").mkdir()
    git(root, "mv", "models/cam-0.yaml", "models/sandbox/cam-0.yaml")
    commit_all(root, "move to the sandbox")
    code, plan = plan_json(run, root, "--changed-since", "HEAD~1")
    assert code == 0
    [change] = plan["changes"]
    assert change["moved_from"] == "models/cam-0.yaml"
    assert change["policy_changes"] == [{"rule": "min-matching-seed-size", "from": 1000, "to": 100}]
    markdown = run(root, "plan", "--changed-since", "HEAD~1", "--format", "markdown").stdout
    assert "policy for this file changed by the move: min-matching-seed-size 1000 -> 100" in markdown


# 7. A new file repeating an unchanged file's ARN is caught whatever the scope.
def test_a_duplicate_arn_in_a_new_file_is_caught_by_every_scope(
    tmp_path: Path, seeded_emulator: Start, run: Run
) -> None:
    server = seeded_emulator(seed=live_seed(1))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", minMatchingSeedSize=500)})
    write_models(root, {"copy": desired("cam-0", minMatchingSeedSize=4000)})
    hook = run(root, "check", "models/copy.yaml")  # what pre-commit runs on the new file alone
    assert hook.returncode == 1
    assert "models/copy.yaml:1:29: error [duplicate-arn]" in hook.stdout
    assert "also managed by models/cam-0.yaml" in hook.stdout
    commit_all(root, "copy")
    assert run(root, "plan", "--changed-since", "HEAD~1").returncode == 1
    scoped = run(root, "apply", "--changed-since", "HEAD~1", "--report", "r.json")
    assert scoped.returncode == 1
    assert report(root)["models/copy.yaml"]["result"] == "refused"
    reconcile = run(root, "apply", "--report", "r.json")
    assert reconcile.returncode == 1
    assert {r["result"] for r in report(root).values()} == {"refused"}
    assert updates_of(server, cam_arn("cam-0")) == 0


# 8. policy.yaml and models/ in a subfolder of a larger repository.
def test_a_project_in_a_monorepo_subfolder(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    server = seeded_emulator(seed=live_seed(2))
    top = tmp_path / "mono"
    (top / "services").mkdir(parents=True)
    (top / "services/app.py").write_text("print('hello')\n")
    team = make_repo(top / "teams/audiences", {"cam-0": desired("cam-0"), "cam-1": desired("cam-1")}, commit=False)
    git(top, "init", "-q", "-b", "main")
    git(top, "config", "user.email", "ci@example.com")
    git(top, "config", "user.name", "CI")
    git(top, "config", "commit.gpgsign", "false")
    commit_all(top, "monorepo")
    write_models(team, {"cam-1": desired("cam-1", minMatchingSeedSize=3000)})
    commit_all(top, "change one model")

    code, plan = plan_json(run, team, "--changed-since", "HEAD~1")
    assert code == 0
    assert [c["path"] for c in plan["changes"]] == ["models/cam-1.yaml"]
    assert run(team, "apply").returncode == 0
    assert server.store.get(cam_arn("cam-1"))["minMatchingSeedSize"] == 3000

    write_models(team, {"cam-0": desired("cam-0", minMatchingSeedSize=3)})
    from_top = run(top, "check", "teams/audiences/models/cam-0.yaml")  # as pre-commit runs it, from the git root
    assert from_top.returncode == 1
    assert "teams/audiences/models/cam-0.yaml:" in from_top.stdout


# 9. Exit codes and hidden files.
def test_a_broken_policy_never_exits_with_changes_pending_or_drift(
    tmp_path: Path, seeded_emulator: Start, run: Run
) -> None:
    seeded_emulator(seed=live_seed(1))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    (root / "policy.yaml").write_text("rules:\n  min-matching-seed-size: lots\n")
    assert run(root, "plan", "--detailed-exitcode").returncode == 4
    assert run(root, "drift").returncode == 4
    assert run(root, "apply").returncode == 4
    (root / "policy.yaml").unlink()
    missing = run(root, "plan", "--detailed-exitcode")
    assert missing.returncode == 4
    assert "cam-gitops init" in missing.stderr


def test_hidden_files_are_never_model_files(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    server = seeded_emulator(seed=live_seed(1))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", minMatchingSeedSize=500)})
    (root / "models/.draft.yaml").write_text(yaml.safe_dump(desired("cam-0", minMatchingSeedSize=7000)))
    assert run(root, "check").returncode == 0
    named = run(root, "check", "models/.draft.yaml")
    assert named.returncode == 0
    assert "models/.draft.yaml:1:1: warning [path] ignored: a hidden file" in named.stdout
    commit_all(root, "a hidden draft")
    code, plan = plan_json(run, root, "--changed-since", "HEAD~1")
    assert (code, plan["changes"]) == (0, [])
    assert run(root, "apply").returncode == 0
    assert server.store.get(cam_arn("cam-0"))["minMatchingSeedSize"] == 500


def test_drift_ignores_deliberately_unmanaged_models_and_lists_unpinned_fields(
    tmp_path: Path, seeded_emulator: Start, run: Run
) -> None:
    seeded_emulator(seed=live_seed(3))
    policy = dict(POLICY)
    policy["ignore-unmanaged"] = [{"arn": cam_arn("cam-2"), "reason": "owned by the partner team's own pipeline"}]
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", minMatchingSeedSize=None)}, policy=policy)
    drifted = run(root, "drift", "--format", "json")
    assert drifted.returncode == 2  # cam-1 is unmanaged
    changes = {c["arn"]: c for c in json.loads(drifted.stdout)["changes"]}
    assert changes[cam_arn("cam-2")]["action"] == "ignored"
    assert "partner team" in changes[cam_arn("cam-2")]["error"]
    assert changes[cam_arn("cam-0")]["live_values_not_in_file"] == {"minMatchingSeedSize": 500}
    policy["ignore-unmanaged"].append({"arn": cam_arn("cam-1"), "reason": "a test model, deleted next sprint"})
    (root / "policy.yaml").write_text(yaml.safe_dump(policy))
    assert run(root, "drift").returncode == 0
