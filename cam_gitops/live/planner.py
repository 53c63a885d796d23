"""Reading one live model and planning the file's change to it (the only AWS call is a Get)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cam_gitops.check.checker import split_waived
from cam_gitops.check.engine import effective_findings
from cam_gitops.check.policy import Policy
from cam_gitops.findings import Finding
from cam_gitops.live.accounts import AccountRefused, Accounts, account_of, region_of
from cam_gitops.live.aws import AwsError
from cam_gitops.live.plan import Change, error_change, plan_model
from cam_gitops.live.targets import Target


def not_found_hint(exc: AwsError) -> str:
    """An AWS error as plan shows it; a missing model says what to do, since nothing creates it."""
    message = f"{exc.code}: {exc.message}"
    if exc.code == "ResourceNotFoundException":
        message += (
            " (cam-gitops updates existing models and never creates one: check the ARN's region and "
            "account, or create the model in the console or with `aws cleanroomsml "
            "create-configured-audience-model`, then `cam-gitops import` it)"
        )
    return message


def read_live(target: Target, accounts: Accounts) -> Mapping[str, Any] | Change:
    """The live model, or the error change that explains why it could not be read."""
    try:
        return accounts.for_account(account_of(target.arn)).get_model(target.arn, region_of(target.arn))
    except AccountRefused as exc:
        return error_change(target.path, target.arn, str(exc))
    except AwsError as exc:
        return error_change(target.path, target.arn, not_found_hint(exc))


def plan_live(target: Target, live: Mapping[str, Any], policy: Policy | None, today: dt.date) -> Change:
    """The plan of one target against its live model, the policy judging the model as it will be."""
    violations: list[Finding] = []
    waived: list[Finding] = []
    if policy is not None:
        violations, waived = split_waived(effective_findings(target.model, live, target.rules), policy, today)
    return plan_model(
        target.path,
        target.arn,
        target.desired,
        live,
        target.removed_fields,
        violations=violations,
        waived=[*target.waived, *waived],
        retarget_from=target.retarget_from,
        moved_from=target.moved_from,
        policy_moves=target.policy_moves,
    )


def plan_target(target: Target, accounts: Accounts, policy: Policy | None, today: dt.date) -> Change:
    """Read one live model and plan the file's change to it."""
    live = read_live(target, accounts)
    if isinstance(live, Change):
        return live
    return plan_live(target, live, policy, today)
