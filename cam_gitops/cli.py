"""Command line: parse options, delegate to cam_gitops.app, print, return an exit code.

Exit codes: 0 success; 1 findings or failed models; 2 usage error or invalid policy;
3 internal error; 130 interrupted. plan and drift with --detailed-exitcode use 2 for changes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

import click

from cam_gitops import __version__

FORMATS_CHECK = ("text", "json", "sarif", "github")
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

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
\b
Exit codes: 0 clean (warnings allowed unless --strict), 1 errors,
2 usage error or invalid policy file.
"""


def _default_format(fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def _use_color(no_color: bool, output: str | None) -> bool:
    if no_color or output or "NO_COLOR" in os.environ:
        return False
    return sys.stdout.isatty()


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """Turn a bad path or option value found while running into click's usage error (exit 2)."""
    from cam_gitops.discovery import UsageError

    try:
        yield
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None


def _exit(code: int) -> NoReturn:
    raise click.exceptions.Exit(code)


def _emit(text: str, output: str | None) -> None:
    if output:
        from cam_gitops.app import write_output

        write_output(text, output)
    else:
        click.echo(text, nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


@cli.command(epilog=POLICY_HELP)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--policy", "policy_file", metavar="FILE", help="Policy file (default: policy.yaml at the root).")
@click.option("--format", "fmt", type=click.Choice(FORMATS_CHECK), default=None,
              help="Output format (default: text; github when GITHUB_ACTIONS=true).")  # fmt: skip
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output.")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1).")
def check(
    paths: tuple[str, ...], policy_file: str | None, fmt: str | None, output: str | None, strict: bool, no_color: bool
) -> None:
    """Check model files against the schema and the org policy. No AWS access.

    With no PATHS, every model file under models/. With PATHS (as pre-commit passes them),
    those files or folders; if policy.yaml or a schema is among them, every model file.
    """
    from cam_gitops.app import CheckOptions, execute_check
    from cam_gitops.reporters import CHECK_REPORTERS, Style

    with _usage_errors():
        outcome = execute_check(CheckOptions(paths=paths, policy_file=policy_file, strict=strict))
    reporter = CHECK_REPORTERS[_default_format(fmt)]
    _emit(reporter(outcome.result, Style(_use_color(no_color, output))), output)
    _exit(outcome.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (never raises, never calls exit)."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="cam-gitops",
                          standalone_mode=False)  # fmt: skip
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("cam-gitops: interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("CAM_GITOPS_DEBUG"):
            raise
        click.echo(
            f"cam-gitops: internal error: {type(exc).__name__}: {exc}\n"
            "Rerun with CAM_GITOPS_DEBUG=1 for details and report it.",
            err=True,
        )
        return EXIT_INTERNAL
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
