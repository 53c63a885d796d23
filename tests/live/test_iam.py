"""The IAM policies under iam/ grant exactly what the commands call, recorded from real runs.

plan and drift run the installed CLI against the emulator, which logs every request it serves;
the cleanrooms-ml operations they made must be exactly the actions iam/plan-role-policy.json
allows, and likewise apply with iam/apply-role-policy.json (tags and resource policies
included), and apply --audit s3://... with iam/audit-s3-policy.json. STS GetCallerIdentity needs
no permission, and iam:PassRole (checked by AWS when UpdateConfiguredAudienceModel is given
outputConfig.roleArn) cannot be seen by the emulator, so it is asserted from the policy alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from e2e_helpers import CAM_GITOPS, desired, live_seed, make_repo
from emulator_fixtures import cam_arn

from cam_gitops.emulator import EmulatorServer

pytestmark = pytest.mark.e2e

IAM = Path(__file__).resolve().parents[2] / "iam"
PLAN_POLICY = IAM / "plan-role-policy.json"
APPLY_POLICY = IAM / "apply-role-policy.json"
AUDIT_POLICY = IAM / "audit-s3-policy.json"
SERVICE = "cleanrooms-ml"
# Needs no permission: AWS answers GetCallerIdentity even when an explicit Deny names it.
NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}
WRITE_VERBS = ("Update", "Create", "Delete", "Tag", "Untag", "Put", "Start", "Stop")

Start = Callable[..., EmulatorServer]


def cam_gitops(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed CLI as test_e2e runs it: no CI variables, no colour, the emulator's endpoint."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CI")}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [CAM_GITOPS, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def operations(server: EmulatorServer) -> set[tuple[str, str]]:
    """(service, operation) of every request served since the last clear_requests()."""
    return {(r.service, r.operation or "?") for r in server.requests}


def needed_actions(recorded: set[tuple[str, str]]) -> set[str]:
    """The IAM actions the recorded operations need; every operation must be one we can map."""
    unknown = {op for op in recorded if op[0] not in (SERVICE, "s3") and op not in NO_PERMISSION_NEEDED}
    assert not unknown, f"calls to services the policies do not cover: {sorted(unknown)}"
    return {f"{service}:{operation}" for service, operation in recorded if service in (SERVICE, "s3")}


def statements(policy_path: Path) -> list[dict[str, Any]]:
    document = json.loads(policy_path.read_text())
    assert document["Version"] == "2012-10-17"
    result = document["Statement"]
    assert isinstance(result, list) and result
    for statement in result:
        assert statement["Effect"] == "Allow", statement
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), statement
    return result


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed_actions(policy_path: Path) -> set[str]:
    actions = {action for s in statements(policy_path) for action in as_list(s["Action"])}
    wildcards = {a for a in actions if "*" in a or "?" in a}
    assert not wildcards, f"wildcard actions make 'exactly these' meaningless: {wildcards}"
    return actions


def resources_by_action(policy_path: Path) -> Iterator[tuple[str, str]]:
    for statement in statements(policy_path):
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                yield action, resource


PARTNER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "a:b"}],
}


@pytest.fixture
def recorded(tmp_path: Path, seeded_emulator: Start) -> dict[str, set[tuple[str, str]]]:
    """Operations of plan, drift (with an unmanaged live model) and apply (with changes to fields,
    tags and resource policies, and an audit trail in S3), each recorded apart."""
    seed = live_seed(4)
    seed["configuredAudienceModels"][3].update(tags={"old": "x"}, resourcePolicy=PARTNER_POLICY)
    server = seeded_emulator(seed=seed)
    bucket = f"acme-audit-{uuid.uuid4().hex[:12]}"  # moto's S3 lives as long as the test process
    boto3.client("s3", endpoint_url=server.url, region_name="us-east-1").create_bucket(Bucket=bucket)
    # cam-0 differs from live (fields, tags, a new policy); cam-1 does not; cam-2 is live but no
    # file manages it; cam-3 loses its tags and its policy.
    models = {
        "cam-0": desired("cam-0", tags={"team": "retail"}, resourcePolicy=PARTNER_POLICY),
        "cam-1": desired("cam-1", minMatchingSeedSize=500),
        "cam-3": {**desired("cam-3", minMatchingSeedSize=500, tags={}), "resourcePolicy": None},
    }
    root = make_repo(tmp_path / "repo", models)
    runs: dict[str, set[tuple[str, str]]] = {}
    for name, args, code in (
        ("plan", ("plan", "--format", "json", "--detailed-exitcode"), 2),
        ("drift", ("drift", "--format", "json"), 2),
        ("apply", ("apply", "--report", "report.json"), 0),
    ):
        server.clear_requests()
        completed = cam_gitops(root, *args)
        assert completed.returncode == code, (name, completed.stdout, completed.stderr)
        runs[name] = operations(server)
    drift = json.loads(cam_gitops(root, "drift", "--format", "json").stdout)
    assert cam_arn("cam-2") in {c["arn"] for c in drift["changes"] if c["action"] == "unmanaged"}
    report = json.loads((root / "report.json").read_text())
    assert [r["result"] for r in report["results"]] == ["applied", "no-op", "applied"]
    assert server.store.get(cam_arn("cam-0"))["minMatchingSeedSize"] == 1000
    (root / "models/cam-1.yaml").write_text(yaml.safe_dump(desired("cam-1")))
    server.clear_requests()
    audited = cam_gitops(root, "apply", "--audit", f"s3://{bucket}/cam-gitops/")
    assert audited.returncode == 0, audited.stdout + audited.stderr
    runs["audit"] = operations(server) - runs["apply"] - {("sts", "GetCallerIdentity")}
    return runs


def test_plan_role_allows_exactly_what_plan_and_drift_call(recorded: dict[str, set[tuple[str, str]]]) -> None:
    plan = needed_actions(recorded["plan"])
    drift = needed_actions(recorded["drift"])
    reads = {"cleanrooms-ml:GetConfiguredAudienceModel", "cleanrooms-ml:GetConfiguredAudienceModelPolicy"}
    assert plan == reads
    assert drift == reads | {"cleanrooms-ml:ListConfiguredAudienceModels"}
    assert allowed_actions(PLAN_POLICY) == plan | drift


def test_apply_role_allows_exactly_what_apply_calls(recorded: dict[str, set[tuple[str, str]]]) -> None:
    apply = needed_actions(recorded["apply"])
    assert apply == {
        "cleanrooms-ml:GetConfiguredAudienceModel",
        "cleanrooms-ml:UpdateConfiguredAudienceModel",
        "cleanrooms-ml:GetConfiguredAudienceModelPolicy",
        "cleanrooms-ml:PutConfiguredAudienceModelPolicy",
        "cleanrooms-ml:DeleteConfiguredAudienceModelPolicy",
        "cleanrooms-ml:TagResource",
        "cleanrooms-ml:UntagResource",
    }
    assert allowed_actions(APPLY_POLICY) == apply | {"iam:PassRole"}


def test_audit_policy_allows_exactly_the_audit_trail(recorded: dict[str, set[tuple[str, str]]]) -> None:
    assert needed_actions(recorded["audit"]) == {"s3:PutObject"}
    assert allowed_actions(AUDIT_POLICY) == {"s3:PutObject"}
    for _, resource in resources_by_action(AUDIT_POLICY):
        assert resource.startswith("arn:aws:s3:::") and resource.endswith("/cam-gitops/*"), resource


def test_apply_role_passes_roles_to_clean_rooms_ml_only() -> None:
    (pass_role,) = [s for s in statements(APPLY_POLICY) if "iam:PassRole" in as_list(s["Action"])]
    assert as_list(pass_role["Action"]) == ["iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cleanrooms-ml.amazonaws.com"}}
    for resource in as_list(pass_role["Resource"]):
        assert resource.startswith("arn:aws:iam::") and ":role/" in resource and resource != "*"


def test_plan_role_cannot_write() -> None:
    for action in allowed_actions(PLAN_POLICY):
        verb = action.split(":", 1)[1]
        assert not verb.startswith(WRITE_VERBS), f"plan role allows a write action: {action}"
    assert not any(a.startswith("iam:") for a in allowed_actions(PLAN_POLICY))


@pytest.mark.parametrize("policy_path", [PLAN_POLICY, APPLY_POLICY], ids=["plan", "apply"])
def test_resources_are_scoped(policy_path: Path) -> None:
    scoped = {
        "cleanrooms-ml:GetConfiguredAudienceModel": ("configured-audience-model/*",),
        "cleanrooms-ml:UpdateConfiguredAudienceModel": ("configured-audience-model/*", "audience-model/*"),
    }
    seen = set()
    for action, resource in resources_by_action(policy_path):
        seen.add(action)
        if action == "cleanrooms-ml:ListConfiguredAudienceModels":
            assert resource == "*", "List supports no resource scoping"
            continue
        assert resource != "*", f"{action} on every resource"
        if action in scoped:
            prefix, rest = resource.rsplit(":", 1)
            assert prefix.startswith("arn:aws:cleanrooms-ml:") and prefix.split(":")[4].isdigit(), resource
            assert rest in scoped[action], f"{action} on {resource}"
    assert "cleanrooms-ml:GetConfiguredAudienceModel" in seen
