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

FORMATS_CHECK = ("text", "json", "sarif", "github")
FORMATS_PLAN = ("text", "json", "markdown", "github", "sarif")
MARKDOWN_FINDINGS = 100  # a PR comment has a size limit; the full list is one command away

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
    from cam_gitops.workspace.layout import UsageError

    try:
        yield
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None


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
            raise _UsageError(exc.message, exc.ctx) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if isinstance(exc, _UsageError):
                raise
            raise _UsageError(exc.message, exc.ctx) from exc


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
    Every merge:        cam-gitops apply --changed-since HEAD~1

    Model files live under models/ (YAML or JSON), keyed exactly as the request of
    UpdateConfiguredAudienceModel. The org policy is policy.yaml.
    """


@cli.command(epilog=POLICY_HELP + "\n" + exitcodes.help_text())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--policy", "policy_file", metavar="FILE", help="Policy file (default: policy.yaml at the root).")
@_report_options(FORMATS_CHECK)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1).")
def check(
    paths: tuple[str, ...], policy_file: str | None, fmt: str | None, output: str | None, strict: bool, no_color: bool
) -> None:
    """Check model files against the schema and the org policy. No AWS access.

    With no PATHS, every model file under models/. With PATHS (as pre-commit passes them),
    those files or folders; if policy.yaml or a schema is among them, every model file.
    """
    from cam_gitops.check.run import CheckOptions, execute_check
    from cam_gitops.report.check import CHECK_REPORTERS, Style

    with _usage_errors():
        outcome = execute_check(CheckOptions(paths=paths, policy_file=policy_file, strict=strict))
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
            help="Assume this role for models in another account, e.g. "
            "'arn:aws:iam::{account}:role/cam-gitops-apply'. Without it such models are refused.",
        ),
        click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_options(paths: tuple[str, ...], changed_since: str | None, kwargs: dict[str, Any]) -> Any:
    from cam_gitops.live.runs import AwsRunOptions

    return AwsRunOptions(
        paths=paths,
        changed_since=changed_since,
        policy_file=kwargs["policy_file"],
        concurrency=kwargs["concurrency"],
        max_attempts=kwargs["max_attempts"],
        retry_mode=kwargs["retry_mode"],
        role_arn_template=kwargs["role_arn_template"],
    )


def _check_failed(outcome: Any, fmt: str, output: str | None, action: str) -> NoReturn:
    """Report check findings instead of a plan, and stop: nothing is sent to AWS."""
    from cam_gitops.report.check import CHECK_REPORTERS, Style, check_summary, finding_line

    result = outcome.result
    if fmt == "markdown":
        lines = [
            "<!-- cam-gitops-plan -->",
            "### cam-gitops plan",
            "",
            f"**{action} stopped: `cam-gitops check` failed** ({check_summary(result)})",
            "",
        ]
        shown = result.findings[:MARKDOWN_FINDINGS]
        lines += [f"- `{finding_line(f, Style())}`" for f in shown]
        if len(result.findings) > len(shown):
            lines.append(f"- ... and {len(result.findings) - len(shown)} more: run `cam-gitops check` locally")
        text = "\n".join(lines) + "\n"
    else:
        text = CHECK_REPORTERS.get(fmt, CHECK_REPORTERS["text"])(result, Style())
    _emit(text, output)
    click.echo(f"cam-gitops: {action} stopped: check found errors; nothing was sent to AWS", err=True)
    _exit(outcome.exit_code or 1)


def _aws_failure(exc: Exception) -> NoReturn:
    click.echo(f"cam-gitops: error: {exc}", err=True)
    _exit(1)


@cli.command(epilog=exitcodes.help_text())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--changed-since",
    metavar="REV",
    help="Only model files changed since this git revision; report fields removed since then "
    "(cannot-unset) and deleted files (unmanaged).",
)
@_report_options(FORMATS_PLAN)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 nothing to do, 2 changes pending, 1 errors.")
@_aws_options
def plan(
    paths: tuple[str, ...],
    changed_since: str | None,
    fmt: str | None,
    output: str | None,
    detailed_exitcode: bool,
    **kwargs: Any,
) -> None:
    """Show what apply would change in AWS, field by field, from live GetConfiguredAudienceModel.

    Runs check first and stops on its errors. Needs cleanrooms-ml:GetConfiguredAudienceModel.
    A field left out of a file is not changed (the update is a PATCH); with --changed-since,
    a field removed from a file is an error (cannot-unset) instead of a silent no-op.
    """
    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.runs import collect_targets, make_accounts, plan_exit_code, plan_targets
    from cam_gitops.report.check import Style
    from cam_gitops.report.plan import PLAN_REPORTERS

    fmt = _default_format(fmt)
    options = _run_options(paths, changed_since, kwargs)
    with _usage_errors():
        targets = collect_targets(options)
    if targets.check.exit_code != 0:
        _check_failed(targets.check, fmt, output, "plan")
    try:
        changes = plan_targets(targets, make_accounts(options), options.concurrency)
    except AwsError as exc:
        _aws_failure(exc)
    _emit(PLAN_REPORTERS[fmt](changes, Style(_use_color(kwargs["no_color"], output))), output)
    _exit(plan_exit_code(changes, detailed_exitcode))


@cli.command(epilog=exitcodes.help_text())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--changed-since", metavar="REV", help="Only model files changed since this git revision.")
@click.option("--dry-run", is_flag=True, help="Plan and report, but send no update.")
@click.option("--report", metavar="FILE", help="Write the per-model JSON result to FILE.")
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
def apply(
    paths: tuple[str, ...],
    changed_since: str | None,
    dry_run: bool,
    report: str | None,
    require_tip: str | None,
    fmt: str,
    **kwargs: Any,
) -> None:
    """Apply model files to AWS with UpdateConfiguredAudienceModel, then verify by reading back.

    \b
    Re-runs check and refuses on errors. Only models whose plan is `update` are
    sent, with the file's fields; each is read back and reported `applied` only
    when live equals the file. One model's failure does not stop the others.
    Exit 0 when every model is applied or unchanged, 1 when any failed.
    Needs cleanrooms-ml:GetConfiguredAudienceModel and UpdateConfiguredAudienceModel
    (and iam:PassRole for outputConfig.roleArn).
    """
    if require_tip is not None:
        from cam_gitops.workspace.tip import stale_message

        with _usage_errors():
            stale = stale_message(Path.cwd(), require_tip)
        if stale is not None:
            click.echo(f"cam-gitops: apply refused: {stale}", err=True)
            _exit(exitcodes.STALE)
    from cam_gitops.live.apply import Applier
    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.runs import collect_targets, make_accounts, run_apply
    from cam_gitops.report.check import Style
    from cam_gitops.report.plan import APPLY_REPORTERS, apply_json

    options = _run_options(paths, changed_since, kwargs)
    with _usage_errors():
        targets = collect_targets(options)
    if targets.check.exit_code != 0:
        _check_failed(targets.check, "text", None, "apply")
    try:
        accounts = make_accounts(options)
        _ = accounts.caller  # the account guard needs the caller's account before any update
        results = run_apply(targets, Applier(accounts, dry_run=dry_run), options.concurrency, _progress_reporter())
    except AwsError as exc:
        _aws_failure(exc)
    if report:
        from cam_gitops.workspace.files import write_output

        write_output(apply_json(results, Style()), report)
    _emit(APPLY_REPORTERS[fmt](results, Style(_use_color(kwargs["no_color"], None))), None)
    _exit(1 if any(r.failed for r in results) else 0)


def _progress_reporter() -> Callable[[int, int, Any], None]:
    """Progress of apply on standard error: a bar on a terminal, one plain line per model otherwise."""
    import threading

    from cam_gitops.report.plan import apply_line

    lock = threading.Lock()
    tty = sys.stderr.isatty() and "CI" not in os.environ

    def report(done: int, total: int, result: Any) -> None:
        with lock:
            if tty:
                filled = int(30 * done / max(total, 1))
                click.echo(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", err=True, nl=done == total)
            else:
                click.echo(f"[{done}/{total}] {apply_line(result)}", err=True)

    return report


@cli.command(epilog=exitcodes.help_text())
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    help="Also look for unmanaged models in this region (repeatable).",
)
@_report_options(FORMATS_PLAN)
@_aws_options
def drift(regions: tuple[str, ...], fmt: str | None, output: str | None, **kwargs: Any) -> None:
    """Compare every model file with AWS, and list live models no file manages.

    Exit 0 in sync, 2 drift (a model differs from its file, or is unmanaged), 1 errors.
    Needs GetConfiguredAudienceModel and ListConfiguredAudienceModels.
    """
    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.runs import collect_targets, make_accounts, plan_targets, unmanaged_in_accounts
    from cam_gitops.report.check import Style
    from cam_gitops.report.plan import PLAN_REPORTERS

    fmt = _default_format(fmt)
    options = _run_options((), None, kwargs)
    with _usage_errors():
        targets = collect_targets(options)
    if targets.check.exit_code != 0:
        _check_failed(targets.check, fmt, output, "drift")
    try:
        accounts = make_accounts(options)
        changes = plan_targets(targets, accounts, options.concurrency)
        changes += unmanaged_in_accounts(accounts, targets.targets, regions)
    except AwsError as exc:
        _aws_failure(exc)
    _emit(PLAN_REPORTERS[fmt](changes, Style(_use_color(kwargs["no_color"], output))), output)
    from cam_gitops.live.runs import plan_exit_code

    _exit(plan_exit_code(changes, detailed=True))


@cli.command(name="import", epilog=exitcodes.help_text())
@click.argument("arns", nargs=-1)
@click.option("--all", "import_all", is_flag=True, help="Import every live model no file manages.")
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    help="With --all: regions to list (default: the regions the repository uses).",
)
@click.option(
    "--dir",
    "folder",
    default="models",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to write new model files into.",
)
@_aws_options
def import_(arns: tuple[str, ...], import_all: bool, regions: tuple[str, ...], folder: str, **kwargs: Any) -> None:
    """Write model files for live models, named from each model's name. Never overwrites a file.

    Then `cam-gitops plan` shows no change for them. Needs GetConfiguredAudienceModel
    (and ListConfiguredAudienceModels with --all).
    """
    from cam_gitops.live.aws import AwsError
    from cam_gitops.live.importer import import_models
    from cam_gitops.live.runs import collect_targets, make_accounts, unmanaged_in_accounts
    from cam_gitops.workspace.layout import find_root

    if bool(arns) == import_all:
        raise click.UsageError("give ARNs or --all (not both)")
    options = _run_options((), None, kwargs)
    root = find_root(Path.cwd())
    try:
        accounts = make_accounts(options)
        if import_all:
            with _usage_errors():
                targets = collect_targets(options)
            found = unmanaged_in_accounts(accounts, targets.targets, regions)
            arns = tuple(c.arn for c in found if c.path == "" and c.action == "unmanaged")
        results = import_models(accounts, list(arns), Path(folder).absolute(), root)
    except AwsError as exc:
        _aws_failure(exc)
    for result in results:
        if result.error:
            click.echo(f"{result.arn}: {result.error}" + (f" ({result.path})" if result.path else ""), err=True)
        else:
            click.echo(f"{result.arn}: wrote {result.path}")
    written = sum(1 for r in results if not r.error)
    click.echo(f"Import: {written} written, {len(results) - written} skipped.")
    _exit(1 if any(r.error and r.path is None for r in results) else 0)


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
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("cam-gitops: interrupted", err=True)
        return exitcodes.INTERRUPTED
    except Exception as exc:
        if os.environ.get("CAM_GITOPS_DEBUG"):
            raise
        click.echo(
            f"cam-gitops: internal error: {type(exc).__name__}: {exc}\n"
            "Rerun with CAM_GITOPS_DEBUG=1 for details and report it.",
            err=True,
        )
        return exitcodes.INTERNAL
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
