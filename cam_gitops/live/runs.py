"""Plan, apply, drift and import runs: select models, check them, then work against AWS.

Imported only by the commands that talk to AWS, so `check` never loads boto3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cam_gitops.check.checker import CheckResult
from cam_gitops.check.run import CheckOptions, CheckOutcome, execute_check, resolve_policy
from cam_gitops.exitcodes import CHANGES
from cam_gitops.exitcodes import FINDINGS as EXIT_FINDINGS
from cam_gitops.exitcodes import OK as EXIT_OK
from cam_gitops.live.apply import Accounts, Target, deleted_change, plan_target, run_parallel
from cam_gitops.live.plan import UNMANAGED, Change, summarize
from cam_gitops.workspace.layout import display_path, find_root


@dataclass(frozen=True)
class AwsRunOptions:
    """The inputs of a run that talks to AWS."""

    paths: Sequence[str]
    changed_since: str | None = None
    policy_file: str | None = None
    concurrency: int = 8
    max_attempts: int = 8
    retry_mode: str = "standard"
    role_arn_template: str | None = None


@dataclass(frozen=True)
class Targets:
    """What a plan or apply run works on, after the check passed."""

    check: CheckOutcome
    targets: list[Target]
    deleted: list[Change]


def _removed_fields(root: Path, revision: str, path: str, now: Mapping[str, Any]) -> tuple[str, ...]:
    from cam_gitops.loader import load_bytes
    from cam_gitops.model import UPDATABLE_FIELDS
    from cam_gitops.workspace.git import file_at

    before = file_at(root, revision, path)
    if before is None:
        return ()
    loaded = load_bytes(before, path, Path(path).suffix.lower())
    if loaded.document is None:
        return ()
    return tuple(f for f in UPDATABLE_FIELDS if f in loaded.document.data and f not in now)


def _arn_at(root: Path, revision: str, path: str) -> str | None:
    from cam_gitops.loader import load_bytes
    from cam_gitops.workspace.git import file_at

    before = file_at(root, revision, path)
    loaded = load_bytes(before, path, Path(path).suffix.lower()) if before is not None else None
    arn = loaded.document.data.get("configuredAudienceModelArn") if loaded and loaded.document else None
    return arn if isinstance(arn, str) else None


def collect_targets(options: AwsRunOptions) -> Targets:
    """Select the model files (all, PATHS, or changed since a revision), check them, make targets."""
    root = find_root(Path.cwd())
    paths = list(options.paths)
    deleted: list[Change] = []
    changed = None
    if options.changed_since is not None:
        from cam_gitops.workspace.git import changed_since

        policy_path, _ = resolve_policy(root, options.policy_file)
        changed = changed_since(root, options.changed_since, display_path(root, policy_path))
        wanted = set(changed.present)
        if paths:
            scoped = {display_path(root, Path(p).absolute()) for p in paths}
            wanted = {w for w in wanted if any(w == s or w.startswith(s.rstrip("/") + "/") for s in scoped)}
        paths = sorted(wanted)
        if changed.policy_changed:
            paths.append(str(policy_path))
    if options.changed_since is not None and not paths:
        outcome = CheckOutcome(CheckResult(0, []), EXIT_OK)
    else:
        outcome = execute_check(CheckOptions(paths=paths, policy_file=options.policy_file, keep_models=True))
    models = outcome.result.models
    if changed is not None:
        changed_paths = set(changed.present)
        models = [m for m in models if m.path in changed_paths]
    revision = options.changed_since
    targets = [
        Target(m.path, m.arn, m.desired, _removed_fields(root, revision, m.path, m.desired) if revision else ())
        for m in models
    ]
    if changed is not None and revision is not None:
        managed = {t.arn for t in targets}
        for path in changed.deleted:
            arn = _arn_at(root, revision, path)
            if arn and arn not in managed:
                deleted.append(deleted_change(path, arn))
    return Targets(outcome, targets, deleted)


def make_accounts(options: AwsRunOptions) -> Accounts:
    """The AWS identities for a run (imports boto3: only plan, apply, drift and import do)."""
    from cam_gitops.live.aws import CleanRoomsML, RetrySettings, make_session

    retries = RetrySettings(options.retry_mode, options.max_attempts, max(10, options.concurrency))
    return Accounts(CleanRoomsML(make_session(), retries), options.role_arn_template)


def plan_targets(targets: Targets, accounts: Accounts, concurrency: int) -> list[Change]:
    """Plan every target against live AWS state, deleted files included, in path order.

    The caller's account is asked first: without credentials nothing can be planned, and
    that is one error for the run, not one per model.
    """
    if targets.targets:
        _ = accounts.caller  # raises AwsError when there is no usable identity
    changes = run_parallel(targets.targets, lambda t: plan_target(t, accounts), concurrency)
    return sorted([*changes, *targets.deleted], key=lambda c: (c.path, c.arn))


def plan_exit_code(changes: Sequence[Change], detailed: bool) -> int:
    """0 nothing to do (or changes without --detailed-exitcode), 1 errors, 2 changes pending."""
    summary = summarize(changes)
    if summary.errors:
        return EXIT_FINDINGS
    return CHANGES if detailed and summary.changes_pending else EXIT_OK


def unmanaged_in_accounts(
    accounts: Accounts, targets: Sequence[Target], extra_regions: Sequence[str] = ()
) -> list[Change]:
    """Live models, in the accounts and regions the repository uses, that no file manages."""
    from cam_gitops.live.apply import AccountRefused
    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.plan import error_change

    managed = {t.arn for t in targets}
    pairs = {(t.arn.split(":")[4], t.arn.split(":")[3]) for t in targets if t.arn.count(":") >= 5}
    if extra_regions or not pairs:
        pairs |= {(accounts.caller, region) for region in extra_regions}
    found: list[Change] = []
    for account, region in sorted(pairs):
        try:
            for summary in accounts.for_account(account).list_models(region):
                arn = str(summary["configuredAudienceModelArn"])
                if arn not in managed:
                    found.append(
                        Change(
                            "",
                            arn,
                            UNMANAGED,
                            error=f"live model '{summary.get('name', '')}' is not "
                            "managed by any file; `cam-gitops import` can write one",
                        )
                    )
        except (AccountRefused, AwsError) as exc:
            found.append(error_change("", f"arn:aws:cleanrooms-ml:{region}:{account}:*", f"listing failed: {exc}"))
    return found


def run_apply(targets: Targets, applier: Any, concurrency: int, progress: Any | None = None) -> list[Any]:
    """Apply every target in parallel; deleted files are reported, never deleted."""
    from cam_gitops.live.apply import unmanaged_result

    total = len(targets.targets)
    done = 0

    def finished(result: Any) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, result)

    results = run_parallel(targets.targets, applier.apply, concurrency, finished)
    results += [unmanaged_result(change) for change in targets.deleted]
    return sorted(results, key=lambda r: (r.path, r.arn))
