"""Plan, apply and drift runs over a set of targets, against AWS.

Imported only by the commands that talk to AWS, so `check` never loads boto3.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cam_gitops.exitcodes import CHANGES, FINDINGS, OK
from cam_gitops.live.accounts import Accounts
from cam_gitops.live.apply import Applier, ApplyResult, refused_by_check, unmanaged_result
from cam_gitops.live.parallel import run_parallel
from cam_gitops.live.plan import Change, summarize
from cam_gitops.live.planner import plan_target
from cam_gitops.live.targets import Targets
from cam_gitops.model import ModelSpec


@dataclass(frozen=True)
class AwsSettings:
    """How the AWS commands call AWS."""

    concurrency: int = 8
    max_attempts: int = 8
    retry_mode: str = "standard"
    role_arn_template: str | None = None


def make_accounts(settings: AwsSettings) -> Accounts:
    """The AWS identities for a run (imports boto3: only plan, apply, drift and import do)."""
    from cam_gitops.live.aws import CleanRoomsML, RetrySettings, make_session

    retries = RetrySettings(settings.retry_mode, settings.max_attempts, max(10, settings.concurrency))
    return Accounts(CleanRoomsML(make_session(), retries), settings.role_arn_template)


def live_reader(settings: AwsSettings) -> Callable[[ModelSpec], Mapping[str, Any] | str]:
    """Reads one model's live state for explain: the model, or why it could not be read."""
    import botocore.exceptions

    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.planner import read_live
    from cam_gitops.live.targets import Target

    def read(model: ModelSpec) -> Mapping[str, Any] | str:
        try:
            live = read_live(Target(model), make_accounts(settings))
        except (AwsError, botocore.exceptions.BotoCoreError) as exc:  # no identity, a broken profile
            return str(exc)
        return (live.error or live.action) if isinstance(live, Change) else live

    return read


def plan_targets(targets: Targets, accounts: Accounts, concurrency: int) -> list[Change]:
    """Plan every target against live AWS state, unmanaged models included, in path order.

    The caller's account is asked first: without credentials nothing can be planned, and
    that is one error for the run, not one per model.
    """
    if targets.targets:
        _ = accounts.caller  # raises AwsError when there is no usable identity
    changes = run_parallel(
        targets.targets, lambda t: plan_target(t, accounts, targets.policy, targets.today), concurrency
    )
    return sorted([*changes, *targets.unmanaged], key=lambda c: (c.path, c.arn))


def plan_exit_code(changes: Sequence[Change], detailed: bool) -> int:
    """0 nothing to do (or changes without --detailed-exitcode), 1 errors, 2 changes pending."""
    summary = summarize(changes)
    if summary.errors or summary.refused:
        return FINDINGS
    return CHANGES if detailed and summary.changes_pending else OK


def drift_exit_code(changes: Sequence[Change]) -> int:
    """0 in sync, 2 drift (a model differs from its file, breaks the policy through a live value,
    or is unmanaged), 1 when something could not be read."""
    summary = summarize(changes)
    if summary.errors:
        return FINDINGS
    return CHANGES if summary.changes_pending or summary.refused else OK


def run_apply(
    targets: Targets, applier: Applier, concurrency: int, progress: Callable[[int, int, Any], None] | None = None
) -> list[ApplyResult]:
    """Apply every target in parallel; a model file check found errors in is refused, and models no
    file manages any more are reported, never deleted."""
    blocked = targets.blocked()
    arns = {t.path: t.arn for t in targets.targets}
    todo = [t for t in targets.targets if t.path not in blocked]
    total = len(todo)
    done = 0

    def finished(result: ApplyResult) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, result)

    results = run_parallel(todo, applier.apply, concurrency, finished)
    results += [refused_by_check(path, arns.get(path, ""), findings) for path, findings in blocked.items()]
    results += [unmanaged_result(change) for change in targets.unmanaged]
    return sorted(results, key=lambda r: (r.path, r.arn))
