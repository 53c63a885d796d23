"""Applying planned changes: update, read back, verify. Never raises for one model's failure.

Each model is planned again just before its update (one Get), so apply acts on live state as
it is, and refuses a model whose state after the update would break the policy.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cam_gitops.check.policy import Policy
from cam_gitops.findings import Finding
from cam_gitops.live.accounts import AccountRefused, Accounts, account_of, region_of
from cam_gitops.live.aws import AwsError
from cam_gitops.live.plan import NO_OP, REFUSED, UNMANAGED, UPDATE, Change, FieldChange, diff_fields
from cam_gitops.live.planner import plan_target
from cam_gitops.live.targets import Target

APPLIED = "applied"
FAILED = "failed"
WOULD_UPDATE = "would-update"


@dataclass(frozen=True)
class ApplyResult:
    """What apply did for one model."""

    path: str
    arn: str
    result: str
    diff: tuple[FieldChange, ...] = ()
    error: str | None = None
    attempts: int = 0

    @property
    def failed(self) -> bool:
        """Whether this model makes the run fail."""
        return self.result in (FAILED, REFUSED)


@dataclass
class Applier:
    """Applies planned changes: update, read back, verify; retries conflicts a few times."""

    accounts: Accounts
    policy: Policy | None = None
    today: dt.date = field(default_factory=dt.date.today)
    dry_run: bool = False
    conflict_retries: int = 3
    conflict_backoff_s: float = 0.25
    sleep: Callable[[float], None] = field(default=time.sleep)

    def apply(self, target: Target) -> ApplyResult:
        """Bring one model to the file's state and verify it; never raises."""
        try:
            self.accounts.for_account(account_of(target.arn))
        except AccountRefused as exc:
            return ApplyResult(target.path, target.arn, REFUSED, (), str(exc))
        except AwsError as exc:
            return ApplyResult(target.path, target.arn, FAILED, (), f"{exc.code}: {exc.message}")
        change = plan_target(target, self.accounts, self.policy, self.today)
        if change.action == NO_OP:
            return ApplyResult(target.path, target.arn, NO_OP)
        if change.action == REFUSED:
            return ApplyResult(target.path, target.arn, REFUSED, change.diff, refusal(change))
        if change.action != UPDATE:
            return ApplyResult(target.path, target.arn, FAILED, change.diff, change.error)
        if self.dry_run:
            return ApplyResult(target.path, target.arn, WOULD_UPDATE, change.diff)
        return self._update(target, change)

    def _update(self, target: Target, change: Change) -> ApplyResult:
        client = self.accounts.for_account(account_of(target.arn))
        region = region_of(target.arn)
        attempts = 0
        while True:
            attempts += 1
            try:
                client.update_model(target.arn, region, dict(target.desired))
                live = client.get_model(target.arn, region)
                break
            except AwsError as exc:
                if exc.code == "ConflictException" and attempts <= self.conflict_retries:
                    self.sleep(self.conflict_backoff_s * (2 ** (attempts - 1)) * random.uniform(0.5, 1.5))
                    continue
                return ApplyResult(target.path, target.arn, FAILED, change.diff, f"{exc.code}: {exc.message}", attempts)
        left = diff_fields(target.desired, live)
        if left:
            fields = ", ".join(c.field for c in left)
            return ApplyResult(
                target.path,
                target.arn,
                FAILED,
                change.diff,
                f"update accepted but read-back differs in {fields}",
                attempts,
            )
        return ApplyResult(target.path, target.arn, APPLIED, change.diff, None, attempts)


def refusal(change: Change) -> str:
    """Why apply refuses a model: the policy findings on its state after the update."""
    reasons = "; ".join(f"[{f.rule}] {f.message}" for f in change.violations[:3])
    more = len(change.violations) - 3
    return f"refused, nothing sent: {reasons}" + (f"; and {more} more" if more > 0 else "")


def refused_by_check(path: str, arn: str, findings: Sequence[Finding]) -> ApplyResult:
    """A model file check found errors in: nothing sent, the first findings as the reason."""
    reasons = "; ".join(f"[{f.rule}] line {f.position.line}: {f.message}" for f in findings[:3])
    more = len(findings) - 3
    return ApplyResult(path, arn, REFUSED, (), f"check: {reasons}" + (f"; and {more} more" if more > 0 else ""))


def unmanaged_result(change: Change) -> ApplyResult:
    """The apply result of a model no file manages any more: nothing done, reported."""
    return ApplyResult(change.path, change.arn, UNMANAGED, (), change.error)


def deleted_change(path: str, arn: str) -> Change:
    """A file deleted from the repository: reported, never deleted in AWS."""
    return Change(
        path,
        arn,
        UNMANAGED,
        error="file deleted: the model stays in AWS (cam-gitops never deletes); delete it there if intended",
    )
