"""Command line: parse options, delegate to the stages, print, return an exit code.

Exit codes are cam_gitops.exitcodes: each means one thing for every command.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from cam_gitops import __version__, exitcodes
from cam_gitops.live.defaults import APPLY_DEADLINE_S, CONNECT_TIMEOUT_S, PLAN_DEADLINE_S, READ_TIMEOUT_S
from cam_gitops.report.escape import terminal

FORMATS_CHECK = ("text", "json", "sarif", "github")
FORMATS_PLAN = ("text", "json", "markdown", "github", "sarif")

POLICY_HELP = """\b
Policy (policy.yaml at the repository root, or --policy FILE):
  rules:                             every rule is optional
    min-matching-seed-size: 1000     minMatchingSeedSize set and >= N
    allowed-s3-prefixes: [s3://acme-audiences/prod/]
                                     s3Uri under a prefix, whole segments
    allowed-accounts: ['111122223333']   account of every ARN
    allowed-regions: [us-east-1]     region of model/audience-model ARNs
    allowed-role-arns: ['arn:aws:iam::111122223333:role/cleanrooms-*']
    allowed-shared-audience-metrics: [NONE]
    audience-size: {allowed-types: [ABSOLUTE], max-bins: 10,
                    min-bin: 1000, max-bin: 5000000}
    audience-size-ascending: true    bins strictly ascending
    require-description: true
  overrides:                         other values for some folders
    - paths: [models/sandbox/**]
      rules: {min-matching-seed-size: 100}
  waivers:                           reason and expiry required
    - {path: models/x.yaml, rule: require-description,
       reason: legacy model, owner migrating, expires: 2026-12-31}

\b
Also reported: schema, parse, duplicate-key, duplicate-arn, path,
policy, waiver-expired, waiver-unused. README section "Writing policies"
has every rule with an example.
"""


AWS_HELP = """\b
AWS access (boto3's usual chain):
  credentials  AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE (SSO too),
               web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, as CI's
               OIDC sets them), then instance or container roles.
  region       each model's region comes from its ARN; STS and listing use
               AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region.
  endpoint     AWS_ENDPOINT_URL points every call elsewhere, e.g. at the local
               emulator (python -m cam_gitops.emulator).
  account      models in another account than the credentials' are refused
               unless --role-arn-template (or CAM_GITOPS_ROLE_ARN_TEMPLATE, as
               the shipped CI sets it) names a role to assume there."""


def _default_format(fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def _use_color(no_color: bool, output: str | None) -> bool:
    if no_color or output or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """Turn a bad path or option value found while running into click's usage error (exit 2)."""
    from cam_gitops.report.escape import terminal
    from cam_gitops.workspace.layout import UsageError

    try:
        yield
    except UsageError as exc:
        raise click.UsageError(terminal(str(exc))) from None


def _exit(code: int) -> NoReturn:
    raise click.exceptions.Exit(code)


def _emit(text: str, output: str | None) -> None:
    if output:
        from cam_gitops.workspace.files import write_output

        write_output(text, output)
    else:
        click.echo(text, nl=False)


def _report_options(formats: Sequence[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--format and --output, shared by the commands that print a report."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        function = click.option(
            "--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output."
        )(function)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(list(formats)),
            default=None,
            help="Output format (default: text; github when GITHUB_ACTIONS=true).",
        )(function)

    return decorate


class _UsageError(click.UsageError):
    exit_code = exitcodes.USAGE


def _echo_err(line: str) -> None:
    """A line of ours on standard error, made unable to act as a CI log command (its values are
    escaped by the caller)."""
    from cam_gitops.report.escape import log_line

    click.echo(log_line(line), err=True)


def _usage_error(exc: click.UsageError) -> _UsageError:
    """click's usage error as cam-gitops's own: its exit code, and the text escaped (it can
    quote a path or a value from the command line or a file)."""
    from cam_gitops.report.escape import terminal

    return _UsageError(terminal(exc.format_message()), exc.ctx)


class _Commands(click.Group):
    """click's group, with usage errors mapped to cam-gitops's own exit code.

    click exits 2 on a usage error, the code plan and drift use for "changes pending" and
    "drift": a script could not tell a typo from a pending change.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            if isinstance(exc, _UsageError):
                raise
            raise _usage_error(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if isinstance(exc, _UsageError):
                raise
            raise _usage_error(exc) from exc


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=exitcodes.help_text(),
)
@click.version_option(__version__, prog_name="cam-gitops")
def cli() -> None:
    """Lint, plan and apply AWS Clean Rooms ML configured audience models from git.

    \b
    Every commit:       cam-gitops check            (pre-commit hook)
    Every pull request: cam-gitops plan --changed-since origin/main
    Every merge:        cam-gitops apply            (reconciles every model)

    Model files live under models/ (YAML or JSON), keyed exactly as the request of
    UpdateConfiguredAudienceModel. The org policy is policy.yaml.
    """


@cli.command(epilog=POLICY_HELP + "\n" + exitcodes.help_text())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--policy", "policy_file", metavar="FILE", help="Policy file (default: policy.yaml at the root).")
@_report_options(FORMATS_CHECK)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--allow-empty", is_flag=True, help="Accept a project with no model files (a new repository).")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1).")
def check(
    paths: tuple[str, ...],
    policy_file: str | None,
    fmt: str | None,
    output: str | None,
    strict: bool,
    allow_empty: bool,
    no_color: bool,
) -> None:
    """Check model files against the schema and the org policy. No AWS access.

    With no PATHS, every model file under models/. With PATHS (as pre-commit passes them),
    those files or folders; if policy.yaml or a schema is among them, every model file.
    """
    from cam_gitops.check.run import CheckOptions, execute_check
    from cam_gitops.report.check import CHECK_REPORTERS, Style

    with _usage_errors():
        outcome = execute_check(
            CheckOptions(paths=paths, policy_file=policy_file, strict=strict, allow_empty=allow_empty)
        )
    reporter = CHECK_REPORTERS[_default_format(fmt)]
    _emit(reporter(outcome.result, Style(_use_color(no_color, output))), output)
    _exit(outcome.exit_code)


def _aws_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the commands that talk to AWS."""
    options = [
        click.option("--policy", "policy_file", metavar="FILE", help="Policy file (default: policy.yaml at the root)."),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 64),
            default=8,
            show_default=True,
            help="Models worked on in parallel.",
        ),
        click.option(
            "--max-attempts",
            type=click.IntRange(1, 20),
            default=8,
            show_default=True,
            help="Attempts per AWS call; throttling, 5xx and dropped connections are retried with backoff.",
        ),
        click.option(
            "--retry-mode",
            type=click.Choice(["standard", "adaptive"]),
            default="standard",
            show_default=True,
            help="botocore retry mode (adaptive also rate-limits the client).",
        ),
        click.option(
            "--role-arn-template",
            metavar="TEMPLATE",
            # CI passes it from a repository variable: empty there means one account.
            envvar="CAM_GITOPS_ROLE_ARN_TEMPLATE",
            help="Assume this role for models in another account, e.g. "
            "'arn:aws:iam::{account}:role/cam-gitops-apply'. Without it such models are refused. "
            "Default: CAM_GITOPS_ROLE_ARN_TEMPLATE.",
        ),
        click.option("--allow-empty", is_flag=True, help="Accept a project with no model files (a new repository)."),
        click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _time_options(deadline_s: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Timeouts and the run's deadline, for the commands that talk to AWS."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option(
                "--connect-timeout",
                "connect_timeout_s",
                type=click.FloatRange(0.1, 300),
                default=CONNECT_TIMEOUT_S,
                show_default=True,
                metavar="SECONDS",
                help="Wait this long for a connection to AWS, per attempt.",
            ),
            click.option(
                "--read-timeout",
                "read_timeout_s",
                type=click.FloatRange(0.1, 600),
                default=READ_TIMEOUT_S,
                show_default=True,
                metavar="SECONDS",
                help="Wait this long for AWS to answer, per attempt.",
            ),
            click.option(
                "--deadline",
                "deadline_s",
                type=click.FloatRange(1, 86400),
                default=deadline_s,
                show_default=True,
                metavar="SECONDS",
                help="Time for the whole run: after it no new AWS call starts, and the run ends "
                "naming the models it did not do.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _aws_settings(kwargs: dict[str, Any]) -> Any:
    from cam_gitops.live.runs import AwsSettings

    return AwsSettings(
        concurrency=kwargs["concurrency"],
        max_attempts=kwargs["max_attempts"],
        retry_mode=kwargs["retry_mode"],
        role_arn_template=kwargs["role_arn_template"],
        connect_timeout_s=kwargs["connect_timeout_s"],
        read_timeout_s=kwargs["read_timeout_s"],
        deadline_s=kwargs["deadline_s"],
    )


def _collect(
    paths: tuple[str, ...],
    changed_since: str | None,
    kwargs: dict[str, Any],
    fmt: str,
    output: str | None,
    action: str,
    stop_on_findings: bool = True,
) -> Any:
    """Select and check the model files; report check findings and stop when it failed (only
    on an unusable policy with stop_on_findings=False)."""
    from cam_gitops.live.targets import Scope, collect_targets

    scope = Scope(paths, changed_since, kwargs["policy_file"], kwargs["allow_empty"])
    with _usage_errors():
        targets = collect_targets(scope)
    if targets.check.exit_code == exitcodes.USAGE or (stop_on_findings and targets.check.exit_code != 0):
        _check_failed(targets.project_view_check(), fmt, output, action)
    return targets


def _check_failed(outcome: Any, fmt: str, output: str | None, action: str) -> NoReturn:
    """Report check findings instead of a plan, and stop: nothing is sent to AWS."""
    from cam_gitops.report.check import CHECK_REPORTERS, Style
    from cam_gitops.report.plan import check_failed_markdown

    if fmt == "markdown":
        text = check_failed_markdown(outcome.result, action)
    else:
        text = CHECK_REPORTERS.get(fmt, CHECK_REPORTERS["text"])(outcome.result, Style())
    _emit(text, output)
    _echo_err(f"cam-gitops: {action} stopped: check found errors; nothing was sent to AWS")
    _exit(outcome.exit_code or exitcodes.FINDINGS)


def _aws_failure(exc: Exception) -> NoReturn:
    from cam_gitops.report.escape import terminal

    _echo_err(f"cam-gitops: error: {terminal(str(exc))}")  # AWS's message can quote any value
    _exit(exitcodes.FINDINGS)


@cli.command(epilog=AWS_HELP + "\n" + exitcodes.help_text())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--changed-since",
    metavar="REV",
    help="Only model files changed since this git revision (every file when policy.yaml or a schema "
    "changed); also reports fields removed since then (cannot-unset), files whose ARN changed "
    "(retarget), moves that change a file's rules, and models no file manages any more.",
)
@_report_options(FORMATS_PLAN)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 nothing to do, 2 changes pending, 1 errors.")
@_aws_options
@_time_options(PLAN_DEADLINE_S)
def plan(
    paths: tuple[str, ...],
    changed_since: str | None,
    fmt: str | None,
    output: str | None,
    detailed_exitcode: bool,
    **kwargs: Any,
) -> None:
    """Show what apply would change in AWS, field by field, from live GetConfiguredAudienceModel.

    Runs check first and stops on its errors. The policy then judges each model as it will be
    after the update: the update is a PATCH, so fields a file leaves out keep their live value,
    and a live value that breaks the policy is reported (refused) with what to add to the file.
    Needs cleanrooms-ml:GetConfiguredAudienceModel.
    """
    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.runs import make_accounts, plan_exit_code, plan_targets, unread_note
    from cam_gitops.report.check import Style
    from cam_gitops.report.plan import PLAN_REPORTERS

    settings = _aws_settings(kwargs)
    fmt = _default_format(fmt)
    targets = _collect(paths, changed_since, kwargs, fmt, output, "plan")
    stop = settings.stop()
    try:
        changes = plan_targets(targets, make_accounts(settings, stop), settings.concurrency, stop)
    except AwsError as exc:
        _aws_failure(exc)
    changes = targets.project_view(changes)
    _note(unread_note(stop, changes))
    style = Style(_use_color(kwargs["no_color"], output))
    _emit(PLAN_REPORTERS[fmt](changes, style, policy=targets.policy_view()), output)
    _exit(plan_exit_code(changes, detailed_exitcode))


@cli.command(epilog=AWS_HELP + "\n" + exitcodes.help_text())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--changed-since",
    metavar="REV",
    help="Only model files changed since this git revision. Without it (the default, and what the "
    "merge job runs) apply reconciles: every model file is planned and those that differ are "
    "updated, so an earlier failure or a skipped run converges.",
)
@click.option("--dry-run", is_flag=True, help="Plan and report, but send no update.")
@click.option("--report", metavar="FILE", help="Write the per-model JSON result to FILE.")
@click.option(
    "--audit",
    metavar="FILE|s3://BUCKET/PREFIX/",
    help="Append one JSON line per model touched (time, commit, CI actor and run, each field's before "
    "and after, result) to FILE, or write them as one new S3 object per run (never overwritten).",
)
@click.option(
    "--require-tip",
    metavar="REF",
    help="Refuse (exit 5, nothing sent) unless HEAD is the commit REF names, e.g. origin/main after "
    "a fetch: a re-run of an old CI run must not write old content back.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Format of the final per-model table on standard output.",
)
@_aws_options
@_time_options(APPLY_DEADLINE_S)
def apply(
    paths: tuple[str, ...],
    changed_since: str | None,
    dry_run: bool,
    report: str | None,
    audit: str | None,
    require_tip: str | None,
    fmt: str,
    **kwargs: Any,
) -> None:
    """Apply model files to AWS with UpdateConfiguredAudienceModel, then verify by reading back.

    \b
    With no PATHS, reconciles every model file: each is read (one Get, in parallel)
    and only models that differ are updated, with the file's fields; each is read
    back and reported `applied` only when live equals the file. Re-runs check
    first: a model file with errors is refused (an invalid policy stops the run);
    a model whose state after the update would break the policy through a live
    value the file does not set is refused. One model's problem never stops the
    others. Exit 0 when every model is applied or unchanged, 1 when any failed or
    was refused, or check found errors.
    Tags and the resource policy in a file are applied with Tag/UntagResource and
    Put/DeleteConfiguredAudienceModelPolicy (never over a policy changed since it was read).
    Needs the actions in iam/apply-role-policy.json (README: IAM actions each command needs).
    """
    if audit is not None:
        from cam_gitops.live.audit import audit_destination_problem

        problem = audit_destination_problem(audit)
        if problem is not None:
            raise click.UsageError(problem)
    if require_tip is not None:
        from cam_gitops.workspace.tip import stale_message

        with _usage_errors():
            stale = stale_message(Path.cwd(), require_tip)
        if stale is not None:
            _echo_err(f"cam-gitops: apply refused: {stale}")
            _exit(exitcodes.STALE)
    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.runs import execute_apply
    from cam_gitops.report.apply import apply_json, apply_text
    from cam_gitops.report.check import Style

    settings = _aws_settings(kwargs)
    _tolerant_stdout()
    targets = _collect(paths, changed_since, kwargs, "text", None, "apply", stop_on_findings=False)
    if targets.check.exit_code != exitcodes.OK:
        from cam_gitops.report.check import check_text

        # on standard error: standard output is the results (a table, or JSON to parse)
        click.echo(check_text(targets.project_view_check().result, Style()), nl=False, err=True)
        _echo_err("cam-gitops: check found errors: those models are refused, the others are applied")
    try:
        outcome = execute_apply(
            targets,
            settings,
            dry_run=dry_run,
            report=report,
            progress=_progress_reporter(),
            notice=_stopping_notice,
            audit=audit,
        )
    except AwsError as exc:
        _aws_failure(exc)
    style = Style(_use_color(kwargs["no_color"], None))
    if fmt == "json":
        _emit(apply_json(outcome.results, style, outcome.stopped), None)
    else:
        _emit(apply_text(outcome.results, style), None)
    if outcome.audit_written:
        _echo_err(f"cam-gitops: audit trail: {terminal(outcome.audit_written)}")
    for warning in outcome.warnings:
        _echo_err(f"cam-gitops: warning: {terminal(warning)}")
    note = outcome.note()
    if note:
        _echo_err(f"cam-gitops: {'' if outcome.interrupted else 'error: '}{terminal(note)}")
    code = outcome.exit_code
    _exit(exitcodes.FINDINGS if code == exitcodes.OK and targets.check.exit_code != exitcodes.OK else code)


def _note(text: str | None) -> None:
    if text:
        _echo_err(f"cam-gitops: error: {terminal(text)}")


def _stopping_notice(reason: str) -> None:
    _echo_err(f"cam-gitops: {terminal(reason)}: no new update starts; waiting briefly for the calls in flight")


def _tolerant_stdout() -> None:
    """Let the results reach the screen even when a value cannot be encoded (a lone surrogate
    from a file or from AWS): escape it rather than lose the table after updates were sent.
    (Standard error already escapes.)"""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="backslashreplace")


def _progress_reporter() -> Callable[[int, int, Any], None]:
    """Progress of apply on standard error: a bar on a terminal, one plain line per model otherwise."""
    import threading

    from cam_gitops.report.apply import apply_line

    lock = threading.Lock()
    tty = sys.stderr.isatty() and "CI" not in os.environ

    def report(done: int, total: int, result: Any) -> None:
        with lock:
            if tty:
                filled = int(30 * done / max(total, 1))
                click.echo(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", err=True, nl=done == total)
            else:
                _echo_err(f"[{done}/{total}] {apply_line(result)}")  # apply_line escapes every value

    return report


@cli.command(epilog=AWS_HELP + "\n" + exitcodes.help_text())
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    help="Also look for unmanaged models in this region (repeatable).",
)
@_report_options(FORMATS_PLAN)
@_aws_options
@_time_options(PLAN_DEADLINE_S)
def drift(regions: tuple[str, ...], fmt: str | None, output: str | None, **kwargs: Any) -> None:
    """Compare every model file with AWS, and list live models no file manages.

    Drift is a model that differs from its file, a live value the file does not set that breaks
    the policy, or a live model no file manages (unless policy.yaml's ignore-unmanaged lists it,
    with a reason). Each model's live values of fields its file does not set are listed.
    Exit 0 in sync, 2 drift, 1 errors. Needs GetConfiguredAudienceModel and
    ListConfiguredAudienceModels.
    """
    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.drift import unmanaged_in_accounts
    from cam_gitops.live.runs import drift_exit_code, make_accounts, plan_targets, unread_note
    from cam_gitops.report.check import Style
    from cam_gitops.report.plan import PLAN_REPORTERS

    settings = _aws_settings(kwargs)
    fmt = _default_format(fmt)
    targets = _collect((), None, kwargs, fmt, output, "drift")
    stop = settings.stop()
    try:
        accounts = make_accounts(settings, stop)
        changes = plan_targets(targets, accounts, settings.concurrency, stop)
        changes += unmanaged_in_accounts(accounts, targets.targets, regions, targets.policy, targets.today)
    except AwsError as exc:
        _aws_failure(exc)
    changes = targets.project_view(changes)
    _note(unread_note(stop, changes))
    _emit(PLAN_REPORTERS[fmt](changes, Style(_use_color(kwargs["no_color"], output)), title="cam-gitops drift"), output)
    _exit(drift_exit_code(changes))


@cli.command(epilog=AWS_HELP + "\n" + exitcodes.help_text())
@click.argument("path", type=click.Path())
@click.option("--live", is_flag=True, help="Also read the live model and judge it as it will be after the update.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output.")
@_time_options(PLAN_DEADLINE_S)
@_aws_options
def explain(path: str, live: bool, fmt: str, output: str | None, **kwargs: Any) -> None:
    """Explain why a model file passes or fails, or what policy.yaml applies to.

    \b
    A model file: every policy rule with its value after overrides and where the
    value came from (the top level, or which overrides replaced it), the waivers
    that match the file (expiry, in force or expired, and whether they waive a
    finding now), each rule's result on the file and, with --live, on the model
    as it will be after the update (live merged with the file), with the live
    values of fields the file does not set.
    policy.yaml: the model files each override and waiver matches, and the
    ignore-unmanaged entries.
    Exit 0 when the file passes (policy.yaml: when it is valid), 1 when it has
    errors (or, with --live, the live model could not be read), 4 for a path that
    is neither a model file nor the policy, or an invalid policy. Without --live no
    AWS access; with it, needs cleanrooms-ml:GetConfiguredAudienceModel.
    """
    from cam_gitops.check.explain import ExplainOptions, execute_explain
    from cam_gitops.report.check import Style
    from cam_gitops.report.explain import EXPLAIN_REPORTERS

    reader = None
    if live:
        from cam_gitops.live.runs import live_reader

        reader = live_reader(_aws_settings(kwargs))
    with _usage_errors():
        outcome = execute_explain(ExplainOptions(path, kwargs["policy_file"]), read_live=reader)
    _emit(EXPLAIN_REPORTERS[fmt](outcome, Style(_use_color(kwargs["no_color"], output))), output)
    _exit(outcome.exit_code)


IMPORT_HELP = (
    """\b
Which models (with --all): the live models of
  regions   --region R (repeatable), or --all-regions (every region botocore's
            endpoint data lists for the service), or else the regions of the
            repository's model files, or else the default region (AWS_REGION,
            AWS_DEFAULT_REGION or the profile's region);
  accounts  the credentials' account; with --role-arn-template also the accounts
            of the repository's ARNs and each --account, through that role.
A model already managed by a file is reported, not imported again.

\b
Files: models/<name>.yaml from the model's name; when two models share a name
the region is added, then the id; an existing file is never overwritten. The
live name and tags are kept as comments. Models that break the policy are
listed; --baseline adds waivers for them to policy.yaml (reason and expiry).

"""
    + "\n"
    + AWS_HELP
)


@cli.command(name="import", epilog=IMPORT_HELP + "\n" + exitcodes.help_text())
@click.argument("arns", nargs=-1)
@click.option("--all", "import_all", is_flag=True, help="Import every live model in scope that no file manages.")
@click.option("--region", "regions", multiple=True, metavar="REGION", help="With --all: a region to list (repeatable).")
@click.option("--all-regions", is_flag=True, help="With --all: every region where the service exists (botocore).")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="ID",
    help="With --all and --role-arn-template: also list this account (repeatable).",
)
@click.option(
    "--dir",
    "folder",
    metavar="DIR",
    default="models",
    show_default=True,
    help="Folder for new model files, relative to the repository root (inside models/).",
)
@click.option("--baseline", is_flag=True, help="Waive the policy findings of the imported models in policy.yaml.")
@click.option(
    "--baseline-days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    help="Days until a --baseline waiver expires.",
)
@_aws_options
def import_(
    arns: tuple[str, ...],
    import_all: bool,
    regions: tuple[str, ...],
    all_regions: bool,
    accounts: tuple[str, ...],
    folder: str,
    baseline: bool,
    baseline_days: int,
    **kwargs: Any,
) -> None:
    """Write model files for live models (given by ARN, or --all). Never overwrites a file.

    Then `cam-gitops check` accepts them and `cam-gitops plan` shows no change for them.
    Needs cleanrooms-ml:GetConfiguredAudienceModel (and ListConfiguredAudienceModels with --all).
    Exit 0 when every model is written or already managed; 1 when any is not written.
    """
    from cam_gitops.live.importer import ImportOptions, execute_import, report_lines

    options = ImportOptions(
        arns=arns,
        import_all=import_all,
        regions=regions,
        all_regions=all_regions,
        accounts=accounts,
        folder=folder,
        baseline=baseline,
        baseline_days=baseline_days,
        policy_file=kwargs["policy_file"],
        concurrency=kwargs["concurrency"],
        max_attempts=kwargs["max_attempts"],
        retry_mode=kwargs["retry_mode"],
        role_arn_template=kwargs["role_arn_template"],
    )
    with _usage_errors():
        outcome = execute_import(options)
    out, err = report_lines(outcome)  # every value escaped, every line guarded
    for line in err:
        click.echo(line, err=True)
    for line in out:
        click.echo(line)
    _exit(outcome.exit_code)


@cli.command(epilog=exitcodes.help_text())
@click.option("--ci", type=click.Choice(["github", "gitlab"]), default="github", show_default=True, help="CI files.")
@click.option(
    "--github-repo", metavar="OWNER/REPO", help="Repository the IAM roles trust (default: from the origin remote)."
)
@click.option("--account", metavar="ID", help="AWS account id for the IAM policies and allowed-accounts.")
@click.option(
    "--source",
    default="cam-gitops",
    show_default=True,
    help="Where CI installs cam-gitops from: cam-gitops (the package index) or git+https://HOST/OWNER/cam-gitops.",
)
def init(ci: str, github_repo: str | None, account: str | None, source: str) -> None:
    """Write what this repository needs to adopt cam-gitops; never overwrites a file.

    \b
    In the current folder (the git root or a subfolder of it): policy.yaml (every rule,
    commented, pinned to this release), models/, schemas/, iam/. At the git root:
    .pre-commit-config.yaml and the CI files (.github/workflows or .gitlab-ci.yml).
    Prints each file, written or kept, and the next steps.
    """
    from cam_gitops.scaffold import InitOptions, run_init

    result = run_init(InitOptions(Path.cwd(), ci=ci, github_repo=github_repo, account=account, source=source))
    click.echo("\n".join(result.lines), err=result.exit_code != 0)
    _exit(result.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (never raises, never calls exit)."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="cam-gitops", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        from cam_gitops.report.escape import terminal

        if isinstance(exc, click.UsageError):
            exc.show()  # escaped where _Commands raises it (_usage_error)
        else:
            _echo_err(f"Error: {terminal(exc.format_message())}")
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("cam-gitops: interrupted", err=True)
        return exitcodes.INTERRUPTED
    except Exception as exc:
        if os.environ.get("CAM_GITOPS_DEBUG"):
            raise
        from cam_gitops.report.escape import terminal

        _echo_err(f"cam-gitops: internal error: {type(exc).__name__}: {terminal(str(exc))}")
        click.echo("Rerun with CAM_GITOPS_DEBUG=1 for details and report it.", err=True)
        return exitcodes.INTERNAL
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
