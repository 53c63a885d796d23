"""Drift: live models no file manages, in the accounts and regions the project uses.

A model listed in policy.yaml's `ignore-unmanaged` (with a reason) is reported as ignored, not
as drift, so a scheduled job can reach a clean state with deliberately unmanaged models.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cam_gitops.check.policy import IgnoredModel, Policy
from cam_gitops.check.rules import arn_glob_matches
from cam_gitops.live.accounts import AccountRefused, Accounts, account_of, region_of
from cam_gitops.live.aws import AwsError
from cam_gitops.live.plan import IGNORED, UNMANAGED, Change, error_change
from cam_gitops.live.targets import Target


def unmanaged_in_accounts(
    accounts: Accounts,
    targets: Sequence[Target],
    extra_regions: Sequence[str] = (),
    policy: Policy | None = None,
    today: dt.date | None = None,
) -> list[Change]:
    """Live models, in the accounts and regions the repository uses (plus extra regions in the
    caller's account), that no file manages."""
    managed = {t.arn for t in targets}
    pairs = {(account_of(t.arn), region_of(t.arn)) for t in targets if account_of(t.arn)}
    if extra_regions or not pairs:
        pairs |= {(accounts.caller, region) for region in extra_regions}
    ignored = policy.ignore_unmanaged if policy is not None else ()
    found: list[Change] = []
    for account, region in sorted(pairs):
        try:
            for summary in accounts.for_account(account).list_models(region):
                arn = str(summary.get("configuredAudienceModelArn", ""))
                if arn and arn not in managed:
                    found.append(_unmanaged(arn, str(summary.get("name", "")), ignored, today or dt.date.today()))
        except (AccountRefused, AwsError) as exc:
            found.append(error_change("", f"arn:aws:cleanrooms-ml:{region}:{account}:*", f"listing failed: {exc}"))
    return found


def _unmanaged(arn: str, name: str, ignored: Sequence[IgnoredModel], today: dt.date) -> Change:
    for entry in ignored:
        if not arn_glob_matches(arn, entry.arn):
            continue
        if entry.expires is not None and today > entry.expires:
            return Change(
                "",
                arn,
                UNMANAGED,
                error=f"live model '{name}' is not managed by any file; its ignore-unmanaged entry expired on "
                f"{entry.expires.isoformat()}: import it, or renew the entry with a reason",
            )
        return Change("", arn, IGNORED, error=f"live model '{name}' is deliberately unmanaged: {entry.reason}")
    return Change(
        "",
        arn,
        UNMANAGED,
        error=f"live model '{name}' is not managed by any file; `cam-gitops import` can write one, or list it "
        "under ignore-unmanaged in policy.yaml with a reason",
    )
