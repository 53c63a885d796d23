"""A check run as `cam-gitops check` does it: policy, selection, files, findings, exit code.

Returns a result and an exit code; never prints or exits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cam_gitops.check.checker import CheckResult, default_jobs, run_check
from cam_gitops.check.policy import DEFAULT_POLICY_FILE, empty_policy, load_policy
from cam_gitops.exitcodes import FINDINGS as EXIT_FINDINGS
from cam_gitops.exitcodes import OK as EXIT_OK
from cam_gitops.exitcodes import USAGE as EXIT_USAGE
from cam_gitops.findings import Finding, Position, sorted_findings, warning
from cam_gitops.workspace.layout import display_path, find_root, select


@dataclass(frozen=True)
class CheckOptions:
    """The inputs of a check run."""

    paths: Sequence[str]
    policy_file: str | None = None
    strict: bool = False
    keep_models: bool = False
    today: dt.date | None = None


@dataclass(frozen=True)
class CheckOutcome:
    """A finished check: its result and exit code."""

    result: CheckResult
    exit_code: int


def resolve_policy(root: Path, policy_file: str | None) -> tuple[Path, bool]:
    """The policy file path, and whether the user named it explicitly."""
    if policy_file is not None:
        return Path(policy_file).absolute(), True
    return root / DEFAULT_POLICY_FILE, False


def execute_check(options: CheckOptions) -> CheckOutcome:
    """Run a check as `cam-gitops check` does; raises UsageError for unusable paths."""
    root = find_root(Path.cwd())
    policy_path, explicit = resolve_policy(root, options.policy_file)
    policy_display = display_path(root, policy_path)
    notes: list[Finding] = []
    if policy_path.exists():
        loaded = load_policy(policy_path, policy_display)
        if loaded.policy is None:
            result = CheckResult(0, sorted_findings(loaded.findings))
            return CheckOutcome(result, EXIT_USAGE)
        policy = loaded.policy
        notes += loaded.findings
    elif explicit:
        from cam_gitops.workspace.layout import UsageError

        raise UsageError(f"{options.policy_file}: policy file not found")
    else:
        policy = empty_policy(policy_display)
        notes.append(
            warning(
                policy_display,
                Position(1, 1),
                "policy",
                "no policy.yaml found: only the schema is checked; add one to enforce org rules",
            )
        )
    selection, complete = select(root, options.paths, policy_path)
    jobs = 1 if options.keep_models else default_jobs()
    result = run_check(
        selection.files, policy, today=options.today, complete=complete, keep_models=options.keep_models, jobs=jobs
    )
    result.findings = sorted_findings([*result.findings, *selection.refused, *notes])
    failed = result.errors > 0 or (options.strict and result.warnings > 0)
    return CheckOutcome(result, EXIT_FINDINGS if failed else EXIT_OK)
