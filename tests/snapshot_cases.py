"""Fixed inputs of the reporter snapshot tests, shared with scripts/update-snapshots.py.

Every snapshot file under tests/snapshots/ is SNAPSHOTS[name](), byte for byte. Change the
inputs or a reporter, run `python scripts/update-snapshots.py`, and review the diff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cam_gitops.check.checker import CheckResult
from cam_gitops.check.policy import IgnoredModel, Override, Policy, Waiver
from cam_gitops.check.policydiff import PolicyDiff, diff_policies
from cam_gitops.findings import Finding, Position, Severity
from cam_gitops.live.apply import APPLIED, FAILED, REFUSED, ApplyResult, deleted_change
from cam_gitops.live.plan import IGNORED, NO_OP, UNMANAGED, Change, FieldChange, RuleMove, error_change, plan_model
from cam_gitops.live.plan import REFUSED as REFUSED_PLAN
from cam_gitops.report.apply import apply_json, apply_text
from cam_gitops.report.check import Style, check_github, check_text
from cam_gitops.report.plan import plan_json, plan_markdown, plan_text

SNAPSHOT_DIR = Path(__file__).parent / "snapshots"
UPDATE_COMMAND = "python scripts/update-snapshots.py"

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-audience-writer"
AUDIENCE_MODEL = f"arn:aws:cleanrooms-ml:us-east-1:{ACCOUNT}:audience-model/am-0001"


def arn(name: str, region: str = "us-east-1", account: str = ACCOUNT) -> str:
    """A configured audience model ARN with a readable id."""
    return f"arn:aws:cleanrooms-ml:{region}:{account}:configured-audience-model/{name}"


def live(name: str, **changes: Any) -> dict[str, Any]:
    """A live model as GetConfiguredAudienceModel returns it (the fields plan compares)."""
    data: dict[str, Any] = {
        "configuredAudienceModelArn": arn(name),
        "name": name,
        "description": f"{name} lookalikes",
        "audienceModelArn": AUDIENCE_MODEL,
        "minMatchingSeedSize": 500,
        "sharedAudienceMetrics": ["ALL"],
        "outputConfig": {
            "destination": {"s3Destination": {"s3Uri": f"s3://acme-aud/us/{name}/"}},
            "roleArn": ROLE,
        },
        "audienceSizeConfig": {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [10000, 50000]},
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def desired(name: str, **changes: Any) -> dict[str, Any]:
    """What a model file asks for: the updatable fields of live(name), then changes (None drops a key)."""
    data = {k: v for k, v in live(name).items() if k not in ("configuredAudienceModelArn", "name")}
    data["minMatchingSeedSize"] = 1500
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def plan_changes() -> list[Change]:
    """One plan with every action: updates (nested and list fields), no-op, errors, cannot-unset, unmanaged."""
    spring = plan_model(
        "models/retail/spring.yaml",
        arn("spring"),
        desired(
            "spring",
            description="Spring lookalikes | owner retail-analytics",
            sharedAudienceMetrics=["NONE"],
            outputConfig={
                "destination": {"s3Destination": {"s3Uri": "s3://acme-aud/us/retail/spring/"}},
                "roleArn": f"{ROLE}-v2",
            },
            audienceSizeConfig={"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [10000, 50000, 250000]},
        ),
        live("spring"),
    )
    summer = plan_model(
        "models/retail/summer.yaml",
        arn("summer"),
        desired("summer", description="Summer `beach` lookalikes", audienceSizeConfig=None),
        live("summer", description=None),
    )
    autumn = plan_model(
        "models/eu/autumn.yaml",
        arn("autumn", region="eu-west-1"),
        desired("autumn", description=None),
        live("autumn", minMatchingSeedSize=1500),
    )
    winter = plan_model(
        "models/retail/winter.yaml",
        arn("winter"),
        desired("winter", description=None),
        live("winter"),
        removed_fields=("description",),
    )
    ghost = error_change(
        "models/ghost.yaml",
        arn("ghost"),
        f"ResourceNotFoundException: configured audience model {arn('ghost')} not found",
    )
    foreign = error_change(
        "models/partner/foreign.yaml",
        arn("foreign", account=OTHER_ACCOUNT),
        f"model is in account {OTHER_ACCOUNT} but the credentials are for account {ACCOUNT}; use credentials "
        "of that account or --role-arn-template 'arn:aws:iam::{account}:role/NAME'",
    )
    deleted = deleted_change("models/retail/old.yaml", arn("old"))
    orphan = Change(
        "",
        arn("orphan"),
        UNMANAGED,
        error="live model 'orphan' is not managed by any file; `cam-gitops import` can write one",
    )
    metrics = Finding(
        "models/media/fans.yaml",
        Position(1, 1),
        "allowed-shared-audience-metrics",
        Severity.ERROR,
        "sharedAudienceMetrics ALL is not allowed; allowed: NONE (live value; not set in models/media/fans.yaml): "
        "add sharedAudienceMetrics to models/media/fans.yaml with a value the policy allows, so the update replaces it",
    )
    fans = plan_model(
        "models/media/fans.yaml",
        arn("fans"),
        desired("fans", sharedAudienceMetrics=None),
        live("fans"),
        violations=[metrics],
    )
    waived = Finding(
        "models/retail/legacy.yaml",
        Position(1, 1),
        "require-description",
        Severity.ERROR,
        "description is required by policy: say what the model is for and who owns it",
    )
    legacy = plan_model(
        "models/retail/legacy.yaml",
        arn("legacy"),
        desired("legacy", description=None),
        live("legacy", description=None, minMatchingSeedSize=1500),
        waived=[waived],
    )
    moved = plan_model(
        "models/sandbox/trial.yaml",
        arn("trial"),
        desired("trial"),
        live("trial"),
        retarget_from=arn("trial-old"),
        moved_from="models/retail/trial.yaml",
        policy_moves=[RuleMove("min-matching-seed-size", 1000, 100)],
    )
    reason = "live model 'partner-test' is deliberately unmanaged: a partner's test model"
    ignored = Change("", arn("partner-test"), IGNORED, error=reason)
    changes = [spring, summer, autumn, winter, ghost, foreign, deleted, orphan, fans, legacy, moved, ignored]
    assert [c.action for c in changes] == [
        "update",
        "update",
        NO_OP,
        "cannot-unset",
        "error",
        "error",
        UNMANAGED,
        UNMANAGED,
        REFUSED_PLAN,
        NO_OP,
        "update",
        IGNORED,
    ]
    return changes


def apply_results() -> list[ApplyResult]:
    """One apply with every outcome."""
    by_path = {c.path: c for c in plan_changes()}
    spring, winter = by_path["models/retail/spring.yaml"], by_path["models/retail/winter.yaml"]
    return [
        ApplyResult(spring.path, spring.arn, APPLIED, spring.diff, None, 1),
        ApplyResult(
            "models/retail/summer.yaml",
            arn("summer"),
            FAILED,
            (FieldChange("description", None, "Summer `beach` lookalikes"),),
            "ConflictException: the model is being updated; try again later",
            4,
        ),
        ApplyResult("models/eu/autumn.yaml", arn("autumn", region="eu-west-1"), NO_OP),
        ApplyResult(winter.path, winter.arn, FAILED, winter.diff, winter.error),
        ApplyResult(
            "models/partner/foreign.yaml",
            arn("foreign", account=OTHER_ACCOUNT),
            REFUSED,
            (),
            by_path["models/partner/foreign.yaml"].error,
        ),
        ApplyResult("models/retail/old.yaml", arn("old"), UNMANAGED, (), by_path["models/retail/old.yaml"].error),
    ]


# What a hostile contributor or a console edit can put in a file name, a key, an ARN or a live
# value; the hostile-* snapshots show how each output escapes them (tests/hostile/ asserts it).
HOSTILE_VALUES = (
    "a`b``c",
    "x\n::error::pwned",
    "##[stop-commands]token",
    "\x1b[31mred\x1b[0m",
    "<img src=x onerror=alert(1)>",
    "@org/team",
    "[x](https://evil.example) ![x](https://evil.example/p.png)",
    "a|b",
    "abc\u202edcba",
)


def hostile_changes() -> list[Change]:
    """One change per hostile value, the value in its path, ARN, field, values, error and notes."""
    changes = []
    for i, value in enumerate(HOSTILE_VALUES):
        policy = Finding(
            f"models/{value}.yaml", Position(1, 1), "allowed-s3-prefixes", Severity.ERROR, f"s3Uri {value}"
        )
        changes.append(
            Change(
                f"models/{value}.yaml",
                arn(f"m{i}-{value}"),
                "update",
                (FieldChange(value, value, f"s3://acme-aud/{value}/"),),
                live_only=(("name", value),),
                violations=(policy,),
                moved_from=value,
            )
        )
    changes.append(error_change("", arn("gone"), f"AccessDeniedException: {' '.join(HOSTILE_VALUES)}"))
    return changes


def hostile_check() -> CheckResult:
    """A check whose findings carry the hostile values in their paths and messages."""
    findings = [
        Finding(f"models/{value}.yaml", Position(2, 3), "schema", Severity.ERROR, f"description {value} is bad")
        for value in HOSTILE_VALUES
    ]
    return CheckResult(len(findings), findings)


def policy_change() -> PolicyDiff:
    """A policy.yaml change with every kind of difference: loosened, tightened, changed, waivers, overrides."""
    before = Policy(
        "policy.yaml",
        {"min-matching-seed-size": 1000, "allowed-shared-audience-metrics": ["NONE"], "require-description": True},
        (Override(("models/media/**",), {"min-matching-seed-size": 2000}),),
        (Waiver("models/old.yaml", "require-description", "legacy model", dt.date(2026, 12, 31), Position(1, 1)),),
    )
    after = Policy(
        "policy.yaml",
        {
            "min-matching-seed-size": 1500,
            "allowed-shared-audience-metrics": ["ALL", "NONE"],
            "allowed-role-arns": [ROLE],
        },
        (
            Override(("models/media/**",), {"min-matching-seed-size": 2500}),
            Override(("models/sandbox/**",), {"min-matching-seed-size": 100}),
        ),
        (
            Waiver(
                "models/retail/**",
                "allowed-s3-prefixes",
                "migration to the new bucket",
                dt.date(2027, 3, 31),
                Position(1, 1),
            ),
        ),
        (IgnoredModel(arn("partner-*"), "created by the partner team's pipeline"),),
    )
    return diff_policies(before, after)


SNAPSHOTS: dict[str, Callable[[], str]] = {
    "plan-policy.md": lambda: plan_markdown(plan_changes()[:1], Style(), policy=policy_change()),
    "plan-policy.txt": lambda: plan_text(plan_changes()[:1], Style(), policy=policy_change()),
    "plan-policy.json": lambda: plan_json(plan_changes()[:1], Style(), policy=policy_change()),
    "plan.md": lambda: plan_markdown(plan_changes(), Style()),
    "plan.txt": lambda: plan_text(plan_changes(), Style()),
    "plan.json": lambda: plan_json(plan_changes(), Style()),
    "apply.txt": lambda: apply_text(apply_results(), Style()),
    "apply.json": lambda: apply_json(apply_results(), Style()),
    "hostile-plan.md": lambda: plan_markdown(hostile_changes(), Style()),
    "hostile-plan.txt": lambda: plan_text(hostile_changes(), Style()),
    "hostile-plan.json": lambda: plan_json(hostile_changes(), Style()),
    "hostile-check.txt": lambda: check_text(hostile_check(), Style()),
    "hostile-check.github": lambda: check_github(hostile_check(), Style()),
}
