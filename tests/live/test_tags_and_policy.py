"""Tags and the resource policy, managed from the model file, end to end against the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_helpers import POLICY, commit_all, desired, live_seed, make_repo, write_models
from emulator_fixtures import ACCOUNT_ID, cam_arn

from cam_gitops.emulator import EmulatorServer

pytestmark = pytest.mark.e2e

Start = Callable[..., EmulatorServer]
Run = Callable[..., Any]
PARTNER = "444455556666"


def statement(sid: str, principal: str = PARTNER, action: str = "cleanrooms-ml:GetConfiguredAudienceModel") -> dict:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": action}


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def plan(run: Run, root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    completed = run(root, "plan", "--format", "json", *args)
    assert completed.stdout, completed.stderr
    return completed.returncode, json.loads(completed.stdout)


def live_policy(server: EmulatorServer, arn: str) -> Any:
    """The policy the emulator holds for a model (parsed), or None without one."""
    from cam_gitops.emulator.errors import NotFound

    try:
        return json.loads(server.store.get_policy(arn)[0])
    except NotFound:
        return None


def calls(server: EmulatorServer, operation: str) -> int:
    return sum(1 for r in server.requests if r.operation == operation)


def test_tags_added_changed_removed_and_keys_left_to_others_untouched(
    tmp_path: Path, seeded_emulator: Start, run: Run
) -> None:
    seed = live_seed(1)
    seed["configuredAudienceModels"][0].update(
        minMatchingSeedSize=1000, tags={"team": "retail", "env": "test", "old": "x", "cost-center": "cc-42"}
    )
    server = seeded_emulator(seed=seed)
    policy = {**POLICY, "unmanaged-tag-keys": ["cost-center"]}
    wanted = {"team": "retail", "env": "prod", "owner": "ana"}
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", tags=wanted)}, policy=policy)

    code, planned = plan(run, root, "--detailed-exitcode")
    assert code == 2
    [change] = planned["changes"]
    assert change["action"] == "update"
    assert change["diff"] == {
        "tags.env": {"from": "test", "to": "prod"},
        "tags.old": {"from": "x", "to": None},
        "tags.owner": {"from": None, "to": "ana"},
    }
    assert "UpdateConfiguredAudienceModel" not in {r.operation for r in server.requests}

    applied = run(root, "apply", "--report", "r.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert server.store.get(cam_arn("cam-0"))["tags"] == {**wanted, "cost-center": "cc-42"}
    assert calls(server, "UpdateConfiguredAudienceModel") == 0  # only the tags differed
    assert (calls(server, "TagResource"), calls(server, "UntagResource")) == (1, 1)
    assert plan(run, root, "--detailed-exitcode")[0] == 0


def test_required_tags_judge_the_live_tags_of_a_file_that_does_not_manage_them(
    tmp_path: Path, seeded_emulator: Start, run: Run
) -> None:
    seed = live_seed(1)
    seed["configuredAudienceModels"][0].update(minMatchingSeedSize=1000, tags={"team": "retail"})
    seeded_emulator(seed=seed)
    policy = {"rules": {**POLICY["rules"], "required-tags": {"team": {}, "owner": {}}}}
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")}, policy=policy)
    assert run(root, "check").returncode == 1  # the file alone: no tags at all
    write_models(root, {"cam-0": desired("cam-0", tags={"team": "retail", "owner": "ana"})})
    assert run(root, "check").returncode == 0
    assert plan(run, root)[0] == 0


def test_a_resource_policy_created_changed_and_removed(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    seed = live_seed(1)
    seed["configuredAudienceModels"][0]["minMatchingSeedSize"] = 1000
    server = seeded_emulator(seed=seed)
    policy = {"rules": {**POLICY["rules"], "allowed-principals": [PARTNER, ACCOUNT_ID]}}
    first = document(statement("Partner"))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", resourcePolicy=first)}, policy=policy)

    code, planned = plan(run, root, "--detailed-exitcode")
    assert code == 2
    assert planned["changes"][0]["diff"] == {"resourcePolicy": {"from": None, "to": first}}
    assert run(root, "apply").returncode == 0
    assert live_policy(server, cam_arn("cam-0")) == first
    assert plan(run, root, "--detailed-exitcode")[0] == 0

    second = document(statement("Partner"), statement("Us", ACCOUNT_ID, "cleanrooms-ml:Start*"))
    write_models(root, {"cam-0": desired("cam-0", resourcePolicy=second)})
    commit_all(root, "grant our own account")
    code, planned = plan(run, root, "--detailed-exitcode")
    assert code == 2
    # a statement-level diff, not two JSON blobs
    assert planned["changes"][0]["diff"] == {
        "resourcePolicy.Statement[Sid Us]": {"from": None, "to": second["Statement"][1]}
    }
    text = run(root, "plan").stdout
    assert "resourcePolicy.Statement[Sid Us]: (unset) -> " in text
    assert run(root, "apply").returncode == 0

    # null, not left out: the file says "no policy" (desired() drops None values, so write it)
    (root / "models/cam-0.yaml").write_text(yaml.safe_dump({**desired("cam-0"), "resourcePolicy": None}))
    code, planned = plan(run, root, "--detailed-exitcode")
    assert planned["changes"][0]["diff"] == {"resourcePolicy": {"from": second, "to": None}}
    assert run(root, "apply").returncode == 0
    assert live_policy(server, cam_arn("cam-0")) is None
    assert plan(run, root, "--detailed-exitcode")[0] == 0


def test_a_wildcard_principal_is_refused_unless_allowed(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    seeded_emulator(seed=live_seed(1))
    everyone = document({"Effect": "Allow", "Principal": "*", "Action": "cleanrooms-ml:*"})
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", resourcePolicy=everyone)})
    checked = run(root, "check")
    assert checked.returncode == 1
    assert "[allowed-principals]" in checked.stdout and 'a wildcard principal ("*")' in checked.stdout
    assert run(root, "apply").returncode == 1


def test_a_live_policy_is_judged_when_policy_rules_are_set(tmp_path: Path, seeded_emulator: Start, run: Run) -> None:
    seed = live_seed(1)
    seed["configuredAudienceModels"][0].update(
        minMatchingSeedSize=1000, resourcePolicy=document(statement("Stranger", "999988887777"))
    )
    seeded_emulator(seed=seed)
    policy = {"rules": {**POLICY["rules"], "allowed-principals": [PARTNER]}}
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")}, policy=policy)
    code, planned = plan(run, root)
    assert code == 1
    [violation] = planned["changes"][0]["violations"]
    assert violation["rule"] == "allowed-principals" and "live value" in violation["message"]


def test_a_concurrent_policy_change_is_detected_and_never_overwritten(
    tmp_path: Path, seeded_emulator: Start, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cam_gitops import cli
    from cam_gitops.live.aws import CleanRoomsML

    seed = live_seed(1)
    theirs = document(statement("Theirs", "111111111111"))
    seed["configuredAudienceModels"][0].update(minMatchingSeedSize=1000, resourcePolicy=document(statement("Old")))
    server = seeded_emulator(seed=seed)
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", resourcePolicy=document(statement("Ours")))})
    real_put = CleanRoomsML.put_policy

    def someone_else_first(self: CleanRoomsML, arn: str, region: str, text: str, previous: str | None) -> str:
        server.store.put_policy(arn, json.dumps(theirs), None, None)  # a console edit between our read and put
        return real_put(self, arn, region, text, previous)

    monkeypatch.setattr(CleanRoomsML, "put_policy", someone_else_first)
    monkeypatch.chdir(root)
    assert cli.main(["apply", "--report", "r.json"]) == 1
    [result] = json.loads((root / "r.json").read_text())["results"]
    assert result["result"] == "failed"
    assert "changed since it was read" in result["error"]
    assert live_policy(server, cam_arn("cam-0")) == theirs  # theirs kept, not overwritten
    capsys.readouterr()


def test_import_writes_tags_and_the_policy_and_plan_is_then_a_no_op(
    tmp_path: Path, seeded_emulator: Start, run: Run
) -> None:
    seed = live_seed(1)
    seed["configuredAudienceModels"][0].update(
        minMatchingSeedSize=1000,
        tags={"team": "retail", "aws:cloudformation:stack": "s"},
        resourcePolicy=document(statement("P")),
    )
    seeded_emulator(seed=seed)
    root = make_repo(tmp_path / "repo", {}, policy={"rules": {"allowed-principals": [PARTNER]}})
    imported = run(root, "import", cam_arn("cam-0"))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    written = yaml.safe_load(next((root / "models").glob("*.yaml")).read_text())
    assert written["tags"] == {"team": "retail"}  # aws: tags are AWS's own
    assert written["resourcePolicy"] == document(statement("P"))
    commit_all(root, "import")
    assert run(root, "check").returncode == 0
    assert run(root, "plan", "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize("text", ["not json", "[" * 100_000 + "]" * 100_000, '["a list"]', '{"Statement": 1}'])
def test_a_live_policy_that_is_not_a_document_is_refused_not_a_crash(text: str) -> None:
    from cam_gitops.check.rules_beside import allowed_principals
    from cam_gitops.live.beside import parse_policy
    from cam_gitops.loader import load_bytes
    from cam_gitops.model import ModelSpec

    parsed = parse_policy(text)
    document = load_bytes(f"configuredAudienceModelArn: {cam_arn('x')}\n".encode(), "m.yaml", ".yaml").document
    assert document is not None
    found = list(allowed_principals(ModelSpec(document, cam_arn("x"), {}, {"resourcePolicy": parsed}), None))
    if isinstance(parsed, str):
        assert [v.message.split(",")[0] for v in found] == ["the resource policy is not a JSON policy document"]
    else:
        assert found == []  # a document with nothing that grants
