"""Plan, apply and drift runs over a set of targets, against AWS, in bounded time.

Imported only by the commands that talk to AWS, so `check` never loads boto3.

Every run has a deadline: once it passes, no new AWS call (nor a retry of one) starts, calls in
flight get one attempt's time to finish, and the run ends naming what it did not do. Apply also
stops that way on SIGINT or SIGTERM, and reports every model on every path (`ApplyReport`).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cam_gitops.exitcodes import CHANGES, FINDINGS, INTERRUPTED, OK
from cam_gitops.live.accounts import Accounts
from cam_gitops.live.apply import (
    NOT_STARTED,
    OUTCOME_UNKNOWN,
    UNKNOWN,
    Applier,
    ApplyResult,
    refused_by_check,
    unmanaged_result,
)
from cam_gitops.live.apply import internal_error as apply_internal_error
from cam_gitops.live.apply import not_started as apply_not_started
from cam_gitops.live.aws import STOPPED, AwsError, CleanRoomsML, RetrySettings, make_session
from cam_gitops.live.defaults import CONNECT_TIMEOUT_S, PLAN_DEADLINE_S, READ_TIMEOUT_S
from cam_gitops.live.parallel import ERROR, IN_FLIGHT, Stop, Unfinished, run_parallel, stop_on_signals
from cam_gitops.live.plan import ERROR as ERROR_ACTION
from cam_gitops.live.plan import Change, error_change, summarize
from cam_gitops.live.planner import plan_target
from cam_gitops.live.targets import Target, Targets
from cam_gitops.model import ModelSpec

NOT_READ = "not read"


@dataclass(frozen=True)
class AwsSettings:
    """How the AWS commands call AWS, and for how long."""

    concurrency: int = 8
    max_attempts: int = 8
    retry_mode: str = "standard"
    role_arn_template: str | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    read_timeout_s: float = READ_TIMEOUT_S
    deadline_s: float | None = PLAN_DEADLINE_S
    started: float = field(default_factory=time.monotonic)

    def retries(self) -> RetrySettings:
        """botocore's retry and timeout settings (aws.RetrySettings)."""
        return RetrySettings(
            self.retry_mode,
            self.max_attempts,
            max(10, self.concurrency),
            self.connect_timeout_s,
            self.read_timeout_s,
        )

    def stop(self) -> Stop:
        """The run's stop: its deadline counts from the start of the command; once it passes, a
        call in flight may still take one attempt (connect and read timeouts)."""
        return Stop(self.deadline_s, self.connect_timeout_s + self.read_timeout_s, started=self.started)


def make_accounts(settings: AwsSettings, stop: Stop | None = None) -> Accounts:
    """The AWS identities for a run (imports boto3: only plan, apply, drift and import do)."""
    retries = settings.retries()
    should_stop = stop.reason if stop is not None else None
    return Accounts(CleanRoomsML(make_session(retries), retries, should_stop), settings.role_arn_template)


def live_reader(settings: AwsSettings) -> Callable[[ModelSpec], Mapping[str, Any] | str]:
    """Reads one model's live state for explain: the model, or why it could not be read."""
    import botocore.exceptions

    from cam_gitops.live.planner import read_live

    def read(model: ModelSpec) -> Mapping[str, Any] | str:
        try:
            live = read_live(Target(model), make_accounts(settings))
        except (AwsError, botocore.exceptions.BotoCoreError) as exc:  # no identity, a broken profile
            return str(exc)
        return (live.error or live.action) if isinstance(live, Change) else live

    return read


def plan_targets(targets: Targets, accounts: Accounts, concurrency: int, stop: Stop | None = None) -> list[Change]:
    """Plan every target against live AWS state, unmanaged models included, in path order.

    The caller's account is asked first: without credentials nothing can be planned, and
    that is one error for the run, not one per model. A model that could not be read before
    the run stopped, or whose planning hit an internal error, is an error change.
    """
    if targets.targets:
        _ = accounts.caller  # raises AwsError when there is no usable identity

    def unplanned(target: Target, why: Unfinished) -> Change:
        if why.state == ERROR:
            return error_change(
                target.path, target.arn, f"internal error while planning: {why.reason}; please report it"
            )
        if why.state == IN_FLIGHT:
            return error_change(target.path, target.arn, f"{NOT_READ}: no answer before {why.reason}")
        return error_change(target.path, target.arn, f"{NOT_READ}: {why.reason}")

    stop = stop or Stop()

    def plan(target: Target) -> Change:
        change = plan_target(target, accounts, targets.policy, targets.today)
        if change.action == ERROR_ACTION and (change.error or "").startswith(f"{STOPPED}: "):
            return error_change(target.path, target.arn, f"{NOT_READ}: {stop.reason() or 'the run stopped'}")
        return change

    changes = run_parallel(
        targets.targets,
        plan,
        concurrency,
        fallback=unplanned,
        stop=stop,
    )
    return sorted([*changes, *targets.unmanaged], key=lambda c: (c.path, c.arn))


def unread_note(stop: Stop, changes: Sequence[Change]) -> str | None:
    """The run-level error when a plan or drift run stopped before reading every model."""
    reason = stop.reason()
    unread = [c.path for c in changes if c.error and c.error.startswith(NOT_READ)]
    if reason is None or not unread:
        return None
    return (
        f"{reason}: {len(unread)} of {len(changes)} models not read: {_names(unread)}; "
        "raise --deadline, or plan fewer models (paths, --changed-since)"
    )


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


def split_apply(targets: Targets) -> tuple[list[Target], list[ApplyResult]]:
    """The targets apply works on, and the results known without AWS: model files check found
    errors in (refused, nothing sent) and models no file manages any more (reported, never deleted)."""
    blocked = targets.blocked()
    arns = {t.path: t.arn for t in targets.targets}
    todo = [t for t in targets.targets if t.path not in blocked]
    known = [refused_by_check(path, arns.get(path, ""), findings) for path, findings in blocked.items()]
    known += [unmanaged_result(change) for change in targets.unmanaged]
    return todo, known


def run_apply(
    targets: Targets,
    applier: Applier,
    concurrency: int,
    progress: Callable[[int, int, Any], None] | None = None,
    stop: Stop | None = None,
    on_stopping: Callable[[str], None] | None = None,
) -> list[ApplyResult]:
    """Apply every target in parallel, in path order (see split_apply for the others). A model
    whose work raised is that model's failure; once the run stops, models in flight whose update
    was sent are `unknown`, the others `not-started`."""
    todo, known = split_apply(targets)
    total = len(todo)
    done = 0
    sent: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def sending(target: Target) -> None:
        with lock:
            sent.add((target.path, target.arn))
        applier.on_send(target)

    def unfinished(target: Target, why: Unfinished) -> ApplyResult:
        with lock:
            began = (target.path, target.arn) in sent
        if why.state == ERROR:
            return apply_internal_error(target, why.error or RuntimeError(why.reason), began)
        if began:
            return ApplyResult(target.path, target.arn, UNKNOWN, (), f"{OUTCOME_UNKNOWN} ({why.reason})", sent=True)
        return apply_not_started(target, why.reason)

    def finished(result: ApplyResult) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, result)

    results = run_parallel(
        todo,
        dataclasses.replace(applier, on_send=sending).apply,
        concurrency,
        finished,
        fallback=unfinished,
        stop=stop or Stop(),
        on_stopping=on_stopping,
    )
    return sorted([*results, *known], key=lambda r: (r.path, r.arn))


@dataclass(frozen=True)
class ApplyOutcome:
    """How an apply run ended."""

    results: list[ApplyResult]  # every model, paths as the user reads them, in path order
    stopped: str | None = None  # why models were left undone (deadline, signal)
    interrupted: bool = False
    warnings: tuple[str, ...] = ()
    audit_failed: bool = False  # the audit trail could not be written
    audit_written: str | None = None  # where it was written: "N line(s) to FILE" or the S3 object

    @property
    def exit_code(self) -> int:
        """130 when interrupted; 1 when a model failed, was refused, or was left undone, or the
        audit trail could not be written; else 0."""
        if self.interrupted:
            return INTERRUPTED
        failed = self.stopped or self.audit_failed or any(r.failed for r in self.results)
        return FINDINGS if failed else OK

    def note(self) -> str | None:
        """What the run did not do, when it stopped early."""
        if self.stopped is None:
            return None
        unknown = [r.path for r in self.results if r.result == UNKNOWN]
        undone = [r.path for r in self.results if r.result == NOT_STARTED]
        parts = [self.stopped]
        if unknown:
            parts.append(f"{len(unknown)} unknown (update sent, outcome unknown: run plan): {_names(unknown)}")
        if undone:
            parts.append(f"{len(undone)} not started: {_names(undone)}")
        return (
            "; ".join(parts) + "; run apply again to converge" + ("" if self.interrupted else ", or raise --deadline")
        )


def execute_apply(
    targets: Targets,
    settings: AwsSettings,
    *,
    dry_run: bool = False,
    report: str | None = None,
    progress: Callable[[int, int, Any], None] | None = None,
    notice: Callable[[str], None] | None = None,
    audit: str | None = None,
) -> ApplyOutcome:
    """Apply the targets within the run's deadline, stopping cleanly on SIGINT or SIGTERM.

    The report (when asked for) is kept as a journal while models finish and written whole on
    every way out, an exception included. AwsError before any model starts (no credentials)
    propagates once the report says so: nothing was sent.
    """
    stop = settings.stop()
    todo, known = split_apply(targets)
    expected = [apply_not_started(t, "the run ended before it") for t in todo]
    book = ApplyReport(report, targets.project_view([*expected, *known]))
    stopped: str | None = None

    def shown(result: ApplyResult) -> ApplyResult:
        return targets.project_view([result])[0]

    def sending(target: Target) -> None:
        book.record(shown(ApplyResult(target.path, target.arn, UNKNOWN, (), OUTCOME_UNKNOWN, sent=True)))

    def finished(done: int, total: int, result: ApplyResult) -> None:
        book.record(shown(result))
        if progress is not None:
            progress(done, total, shown(result))

    with stop_on_signals(stop) as applying:
        try:
            accounts = make_accounts(settings, stop)
            _ = accounts.caller  # the account guard needs the caller's account before any update
            applier = Applier(
                accounts, targets.policy, targets.today, dry_run=dry_run, stopping=stop.reason, on_send=sending
            )
            applying()
            results = targets.project_view(run_apply(targets, applier, settings.concurrency, finished, stop, notice))
            book.settle(results)
            if any(r.result in (NOT_STARTED, UNKNOWN) for r in results):
                stopped = stop.reason()
        except AwsError as exc:
            stopped = f"{exc.code}: {exc.message}"
            raise
        except KeyboardInterrupt:
            stopped = "interrupted before any update was sent"
            raise
        except Exception as exc:
            stopped = f"internal error {type(exc).__name__}: {exc}"
            raise
        finally:
            book.finish(stopped)
            audited = _write_audit(audit, book, targets, settings) if audit is not None else (True, None)
    return ApplyOutcome(
        book.results(),
        stopped,
        stop.interrupted and stopped is not None,
        tuple(book.warnings),
        not audited[0],
        audited[1],
    )


def _write_audit(
    destination: str, book: ApplyReport, targets: Targets, settings: AwsSettings
) -> tuple[bool, str | None]:
    """The audit trail of the run, on every way out: (written or nothing due, where); a failure
    is a warning."""
    from cam_gitops.live.audit import audit_context, audit_lines, write_audit

    context = audit_context(targets.project.root)
    lines = audit_lines(book.results(), context)

    def put_object(bucket: str, key: str, body: bytes) -> None:
        retries = settings.retries()
        CleanRoomsML(make_session(retries), retries).put_object(bucket, key, body)

    try:
        written = write_audit(destination, lines, context, put_object)
    except (OSError, AwsError) as exc:
        book.warnings.append(f"the audit trail could not be written to {destination}: {exc}")
        return False, None
    return True, (f"{len(lines)} line(s) to {written}" if written is not None else None)


class ApplyReport:
    """The --report FILE of an apply run, true at every moment something was sent.

    While the run goes, each model's news is appended to FILE.jsonl (JSON Lines, one report
    entry per line, flushed at once): a model is written as `unknown` just before its update is
    sent, and again with its outcome, so the last line for a model is what is known even if the
    process is killed outright. When the run ends, whatever the way, FILE is written whole
    (atomically, every model in it) and the journal is removed. A rewrite of FILE per model would
    cost time in the square of the number of models; the journal costs one line each.
    """

    def __init__(self, path: str | None, expected: Sequence[ApplyResult]) -> None:
        self._path = path
        self._known = {(r.path, r.arn): r for r in expected}
        self._lock = threading.Lock()
        self._journal: TextIO | None = None
        self.warnings: list[str] = []
        if path is not None:
            self._journal_path = Path(f"{path}.jsonl")
            try:
                self._journal = self._journal_path.open("w", encoding="utf-8")
            except OSError as exc:
                self.warnings.append(f"cannot write the journal {self._journal_path}: {exc}")

    def record(self, result: ApplyResult) -> None:
        """A model's news, from any thread."""
        from cam_gitops.report.apply import result_json

        with self._lock:
            self._known[(result.path, result.arn)] = result
            if self._journal is None:
                return
            try:
                # ASCII escapes: a string no encoder accepts (a lone surrogate) still goes in.
                self._journal.write(json.dumps(result_json(result)) + "\n")
                self._journal.flush()
            except OSError as exc:
                self.warnings.append(f"cannot write the journal {self._journal_path}: {exc}")
                self._journal = None

    def settle(self, results: Sequence[ApplyResult]) -> None:
        """The run's final results (they are in the journal already, or were known from the start)."""
        with self._lock:
            self._known.update({(r.path, r.arn): r for r in results})

    def results(self) -> list[ApplyResult]:
        """Every model, in path order."""
        with self._lock:
            return sorted(self._known.values(), key=lambda r: (r.path, r.arn))

    def finish(self, stopped: str | None) -> None:
        """Write FILE with every model, then drop the journal it replaces."""
        if self._path is None:
            return
        from cam_gitops.report.apply import apply_json
        from cam_gitops.report.check import Style
        from cam_gitops.workspace.files import write_output

        text = apply_json(self.results(), Style(), stopped)
        # apply_json keeps non-ASCII text as is; a string UTF-8 cannot encode (a lone surrogate
        # from a file or from AWS) is written as its JSON escape instead of losing the report.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        try:
            write_output(text, self._path)
        except OSError as exc:
            self.warnings.append(f"cannot write the report {self._path}: {exc}; the journal {self._path}.jsonl stays")
            return
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self._journal_path.unlink(missing_ok=True)


def _names(paths: Sequence[str], shown: int = 5) -> str:
    names = ", ".join(p or "(no file)" for p in paths[:shown])
    return names + (f" and {len(paths) - shown} more" if len(paths) > shown else "")
