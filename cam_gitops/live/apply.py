"""Applying planned changes: update, read back, verify. Never raises for one model's failure.

Each model is planned again just before its update (one Get), so apply acts on live state as
it is, and refuses a model whose state after the update would break the policy.

Once an update may have been sent, a model is never reported as if nothing happened: a failure
after that point (no answer, the run stopping, an internal error) makes it `unknown`.
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
from cam_gitops.live.aws import AwsError, CleanRoomsML, Stopped
from cam_gitops.live.beside import POLICY, PolicyWork, parse_policy, policy_text, tag_work
from cam_gitops.live.plan import ERROR, NO_OP, REFUSED, UNMANAGED, UPDATE, Change, FieldChange, diff_fields
from cam_gitops.live.planner import plan_target
from cam_gitops.live.targets import Target

APPLIED = "applied"
FAILED = "failed"
WOULD_UPDATE = "would-update"
UNKNOWN = "unknown"  # an update was sent; whether it took effect is not known
NOT_STARTED = "not-started"  # the run stopped before this model's update was sent

OUTCOME_UNKNOWN = "update sent, outcome unknown: run plan"

FAILING_RESULTS = frozenset({FAILED, REFUSED, UNKNOWN, NOT_STARTED})


@dataclass(frozen=True)
class ApplyResult:
    """What apply did for one model.

    `attempts` counts the HTTP requests sent for UpdateConfiguredAudienceModel: botocore's
    retries (throttling, 5xx, dropped connections) and apply's ConflictException retries
    included; 0 when no update was sent.
    """

    path: str
    arn: str
    result: str
    diff: tuple[FieldChange, ...] = ()
    error: str | None = None
    attempts: int = 0
    sent: bool = False  # whether any call that changes the model was sent (the audit trail's "touched")

    @property
    def failed(self) -> bool:
        """Whether this model makes the run fail."""
        return self.result in FAILING_RESULTS


def _never() -> str | None:
    return None


def _nothing(_: Target) -> None:
    return None


@dataclass
class _Sending:
    """How far one model's update got: whether an update call began, and its HTTP attempts."""

    began: bool = False
    attempts: int = 0
    rejected: AwsError | None = None  # the last answer that said no (a conflict)


@dataclass
class Applier:
    """Applies planned changes: update, read back, verify; retries conflicts a few times.

    `stopping` says why no new model may start (the run's deadline, a signal), or None;
    `on_send` is told just before a model's first update is sent.
    """

    accounts: Accounts
    policy: Policy | None = None
    today: dt.date = field(default_factory=dt.date.today)
    dry_run: bool = False
    conflict_retries: int = 3
    conflict_backoff_s: float = 0.25
    sleep: Callable[[float], None] = field(default=time.sleep)
    stopping: Callable[[], str | None] = field(default=_never)
    on_send: Callable[[Target], None] = field(default=_nothing)

    def apply(self, target: Target) -> ApplyResult:
        """Bring one model to the file's state and verify it; never raises."""
        sending = _Sending()
        try:
            return self._apply(target, sending)
        except Exception as exc:  # a bug must cost one model, and say whether its update went out
            return internal_error(target, exc, sending.began, sending.attempts)

    def _apply(self, target: Target, sending: _Sending) -> ApplyResult:
        reason = self.stopping()
        if reason is not None:
            return not_started(target, reason)
        try:
            self.accounts.for_account(account_of(target.arn))
        except AccountRefused as exc:
            return ApplyResult(target.path, target.arn, REFUSED, (), str(exc))
        except Stopped as exc:
            return not_started(target, exc.reason)
        except AwsError as exc:
            return ApplyResult(target.path, target.arn, FAILED, (), f"{exc.code}: {exc.message}")
        change = plan_target(target, self.accounts, self.policy, self.today)
        reason = self.stopping()
        if change.action == ERROR and reason is not None:
            return not_started(target, reason)
        if change.action == NO_OP:
            return ApplyResult(target.path, target.arn, NO_OP)
        if change.action == REFUSED:
            return ApplyResult(target.path, target.arn, REFUSED, change.diff, refusal(change))
        if change.action != UPDATE:
            return ApplyResult(target.path, target.arn, FAILED, change.diff, change.error)
        if self.dry_run:
            return ApplyResult(target.path, target.arn, WOULD_UPDATE, change.diff)
        return self._update(target, change, sending)

    def _update(self, target: Target, change: Change, sending: _Sending) -> ApplyResult:
        client = self.accounts.for_account(account_of(target.arn))
        region = region_of(target.arn)
        if change.update_request:
            failed = self._send_update(target, change, sending, client, region)
            if failed is not None:
                return failed
        failed = self._send_beside(target, change, sending, client, region)
        if failed is not None:
            return failed
        return self._read_back(target, change, sending, client, region)

    def _begin(self, target: Target, change: Change, sending: _Sending) -> ApplyResult | None:
        """Before the first call that changes the model: the run may stop, else it is sent."""
        if sending.began:
            return None
        reason = self.stopping()
        if reason is not None:
            return not_started(target, reason, change.diff)
        self.on_send(target)
        sending.began = True
        return None

    def _send_update(
        self, target: Target, change: Change, sending: _Sending, client: CleanRoomsML, region: str
    ) -> ApplyResult | None:
        calls = 0
        while True:
            calls += 1
            stopped = self._begin(target, change, sending)
            if stopped is not None:
                return stopped
            try:
                sending.attempts += client.update_model(target.arn, region, dict(target.desired))
                return None
            except Stopped as exc:
                sending.attempts += exc.attempts
                return self._stopped(target, change, sending, exc)
            except AwsError as exc:
                sending.attempts += exc.attempts
                if exc.code == "ConflictException" and calls <= self.conflict_retries:
                    sending.rejected = exc
                    self.sleep(self.conflict_backoff_s * (2 ** (calls - 1)) * random.uniform(0.5, 1.5))
                    continue
                if exc.outcome_unknown:
                    return self._result(
                        target, UNKNOWN, change, f"{OUTCOME_UNKNOWN} ({exc.code}: {exc.message})", sending
                    )
                return self._result(target, FAILED, change, f"{exc.code}: {exc.message}", sending)

    def _send_beside(
        self, target: Target, change: Change, sending: _Sending, client: CleanRoomsML, region: str
    ) -> ApplyResult | None:
        """The tags and the resource policy, after the update request (if any) succeeded."""
        done = " (the update itself was applied)" if change.update_request else ""
        tags, policy = change.tag_work, change.policy_work
        step = "tags"
        try:
            if tags is not None and tags.needed:
                stopped = self._begin(target, change, sending)
                if stopped is not None:
                    return stopped
                if tags.tag:
                    client.tag(target.arn, region, dict(tags.tag))
                if tags.untag:
                    client.untag(target.arn, region, list(tags.untag))
            step = "resource policy"
            if policy is not None:
                stopped = self._begin(target, change, sending)
                if stopped is not None:
                    return stopped
                if policy.delete:
                    client.delete_policy(target.arn, region)
                elif policy.put is not None:
                    client.put_policy(target.arn, region, policy_text(policy.put), policy.previous_hash)
        except Stopped as exc:
            return self._result(target, UNKNOWN, change, f"{OUTCOME_UNKNOWN} ({exc.reason})", sending)
        except AwsError as exc:
            if step == "resource policy" and policy is not None and _policy_moved(client, target, region, policy):
                detail = (
                    "the resource policy changed since it was read (a concurrent change): nothing was "
                    "overwritten; run plan to see it, then apply again"
                )
                return self._result(target, FAILED, change, detail + done, sending)
            return self._result(target, FAILED, change, f"{step}: {exc.code}: {exc.message}{done}", sending)
        return None

    def _read_back(
        self, target: Target, change: Change, sending: _Sending, client: CleanRoomsML, region: str
    ) -> ApplyResult:
        try:
            live = client.get_model(target.arn, region)
            if change.policy_work is not None:
                read = client.get_policy(target.arn, region)
                live[POLICY] = parse_policy(read[0]) if read is not None else None
        except AwsError as exc:
            detail = f"update accepted, reading it back failed ({exc.code}: {exc.message}): run plan"
            return self._result(target, UNKNOWN, change, detail, sending)
        left = [c.field for c in diff_fields(target.desired, live)]
        owns = self.policy.owns_tag if self.policy is not None else (lambda key: not key.lower().startswith("aws:"))
        again = tag_work(target.model, live, owns)
        if again is not None and again.needed:
            left.append("tags")
        if change.policy_work is not None and live.get(POLICY) != target.model.get(POLICY):
            left.append("resourcePolicy")
        if left:
            return self._result(
                target, FAILED, change, f"update accepted but read-back differs in {', '.join(left)}", sending
            )
        return self._result(target, APPLIED, change, None, sending)

    def _stopped(self, target: Target, change: Change, sending: _Sending, exc: Stopped) -> ApplyResult:
        """The run stopped before (a retry of) the update could be sent."""
        reason = exc.reason
        if sending.attempts == 0:
            return not_started(target, reason, change.diff)
        if sending.rejected is not None and not exc.sent:
            # Every update sent was refused (a conflict): nothing took effect.
            error = f"{sending.rejected.code}: {sending.rejected.message} (not retried: {reason})"
            return self._result(target, FAILED, change, error, sending)
        return self._result(target, UNKNOWN, change, f"{OUTCOME_UNKNOWN} ({reason})", sending)

    @staticmethod
    def _result(target: Target, result: str, change: Change, error: str | None, sending: _Sending) -> ApplyResult:
        return ApplyResult(target.path, target.arn, result, change.diff, error, sending.attempts, sending.began)


def _policy_moved(client: CleanRoomsML, target: Target, region: str, work: PolicyWork) -> bool:
    """Whether the live policy is no longer the one read before the put (its hash changed)."""
    try:
        read = client.get_policy(target.arn, region)
    except AwsError:
        return False
    return (read[1] if read is not None else None) != work.previous_hash


def not_started(target: Target, reason: str, diff: tuple[FieldChange, ...] = ()) -> ApplyResult:
    """A model the run stopped before: nothing was sent for it."""
    return ApplyResult(target.path, target.arn, NOT_STARTED, diff, f"not started: {reason}")


def internal_error(target: Target, exc: BaseException, began: bool, attempts: int = 0) -> ApplyResult:
    """A bug met while applying one model: that model's failure, never the run's end."""
    what = f"internal error {type(exc).__name__}: {exc}"
    if began:
        return ApplyResult(target.path, target.arn, UNKNOWN, (), f"{OUTCOME_UNKNOWN} ({what})", attempts, True)
    return ApplyResult(target.path, target.arn, FAILED, (), f"{what} (nothing was sent; please report it)")


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
