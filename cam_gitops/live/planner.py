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
from cam_gitops.live.beside import POLICY, POLICY_HASH, parse_policy, policy_work, tag_work
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


POLICY_RULES = frozenset({"require-resource-policy", "allowed-principals", "allowed-actions"})


def needs_policy(target: Target) -> bool:
    """Whether planning this model reads its resource policy: the file manages it, or a rule
    about resource policies is configured for it (one more call per model otherwise saved)."""
    return target.model.manages_policy or bool(POLICY_RULES & set(target.rules))


def read_live(target: Target, accounts: Accounts) -> Mapping[str, Any] | Change:
    """The live model (with its resource policy and its hash when needed), or the error change
    that explains why it could not be read."""
    region = region_of(target.arn)
    try:
        client = accounts.for_account(account_of(target.arn))
        live = client.get_model(target.arn, region)
        if needs_policy(target):
            read = client.get_policy(target.arn, region)
            live[POLICY] = parse_policy(read[0]) if read is not None else None
            live[POLICY_HASH] = read[1] if read is not None else None
        return live
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
    owns = policy.owns_tag if policy is not None else _owns_every_tag
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
        beside=target.model.beside,
        tag_work=tag_work(target.model, live, owns),
        policy_work=policy_work(target.model, live),
    )


def _owns_every_tag(key: str) -> bool:
    return not key.lower().startswith("aws:")


def plan_target(target: Target, accounts: Accounts, policy: Policy | None, today: dt.date) -> Change:
    """Read one live model and plan the file's change to it."""
    live = read_live(target, accounts)
    if isinstance(live, Change):
        return live
    return plan_live(target, live, policy, today)
