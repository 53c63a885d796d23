"""A check run as `cam-gitops check` does it: project, policy, selection, files, findings, exit code.

Returns a result and an exit code; never prints or exits. plan, apply and drift run the same
check (with `require_policy`) before any AWS call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cam_gitops.check.checker import CheckResult, default_jobs, run_check
from cam_gitops.check.policy import Policy, empty_policy, load_policy
from cam_gitops.exitcodes import FINDINGS as EXIT_FINDINGS
from cam_gitops.exitcodes import OK as EXIT_OK
from cam_gitops.exitcodes import USAGE as EXIT_USAGE
from cam_gitops.findings import Finding, Position, error, sorted_findings, warning
from cam_gitops.workspace.layout import MODELS_DIR, Project, Selection, UsageError, find_projects, select


class CheckOptions(NamedTuple):
    """The inputs of a check run."""

    paths: Sequence[str]
    policy_file: str | None = None
    strict: bool = False
    keep_models: bool = False
    today: dt.date | None = None
    allow_empty: bool = False
    require_policy: bool = False  # plan, apply, drift: no policy.yaml is an error, not a warning


@dataclass(frozen=True)
class CheckOutcome:
    """A finished check: its result (paths as the user reads them) and exit code."""

    result: CheckResult
    exit_code: int
    policy: Policy | None = None


def execute_check(options: CheckOptions, cwd: Path | None = None) -> CheckOutcome:
    """Run a check as `cam-gitops check` does, over every project the paths belong to (a
    monorepo may hold several); raises UsageError for unusable paths."""
    cwd = cwd or Path.cwd()
    outcomes = [
        check_project(project, paths, options, cwd)
        for project, paths in find_projects(cwd, options.paths, options.policy_file)
    ]
    if len(outcomes) == 1:
        return outcomes[0]
    findings = sorted_findings(f for o in outcomes for f in o.result.findings)
    result = CheckResult(
        sum(o.result.files_checked for o in outcomes), findings, [f for o in outcomes for f in o.result.waived_findings]
    )
    codes = [o.exit_code for o in outcomes]
    return CheckOutcome(result, EXIT_USAGE if EXIT_USAGE in codes else max(codes))


def check_project(project: Project, paths: Sequence[str], options: CheckOptions, cwd: Path) -> CheckOutcome:
    """Check the model files of one project that paths name (all of them with no paths)."""
    policy, notes = project_policy(project, options)
    if policy is None:
        result = CheckResult(0, sorted_findings(_shown(project, notes)))
        return CheckOutcome(result, EXIT_USAGE)
    selection = select(project, paths, cwd)
    result = check_selection(project, selection, policy, options)
    result.findings = sorted_findings(_shown(project, [*result.findings, *notes]))
    result.waived_findings = _shown(project, result.waived_findings)
    failed = result.errors > 0 or (options.strict and result.warnings > 0)
    return CheckOutcome(result, EXIT_FINDINGS if failed else EXIT_OK, policy)


def project_policy(project: Project, options: CheckOptions) -> tuple[Policy | None, list[Finding]]:
    """The project's policy and the notes about it; None (with findings) when it is unusable."""
    display = project.policy_display
    if project.policy_path.exists():
        loaded = load_policy(project.policy_path, display)
        return loaded.policy, list(loaded.findings)
    if project.policy_explicit:
        raise UsageError(f"{project.policy_path}: policy file not found")
    if options.require_policy:
        raise UsageError(
            f"no {display} in {project.root}: plan, apply and drift judge models by the org policy and "
            "will not run without one. Run from the folder that holds policy.yaml, pass --policy FILE, "
            "or create one (`cam-gitops init` writes a strict, commented policy.yaml)"
        )
    note = warning(
        display,
        Position(1, 1),
        "policy",
        "no policy.yaml found: only the schema is checked; add one to enforce org rules",
    )
    return empty_policy(display), [note]


def check_selection(project: Project, selection: Selection, policy: Policy, options: CheckOptions) -> CheckResult:
    """Check selected files; cross-file rules compare them with every other model file."""
    jobs = default_jobs()
    elsewhere = None
    if not selection.complete:
        from cam_gitops.check.crossfile import other_owners

        checked = [f.display_path for f in selection.files]

        def elsewhere(arns: list[str]) -> Mapping[str, Sequence[str]]:
            return other_owners(project.root, arns, checked)

    result = run_check(
        selection.files,
        policy,
        today=options.today,
        complete=selection.complete,
        keep_models=options.keep_models,
        jobs=jobs,
        elsewhere=elsewhere,
    )
    result.findings = [*result.findings, *selection.refused]
    if selection.complete and not selection.files and not selection.refused and not options.allow_empty:
        result.findings.append(
            error(
                f"{MODELS_DIR}/",
                Position(1, 1),
                "path",
                f"no model files under {MODELS_DIR}/ of {project.root}: is this the project folder (the one "
                "holding policy.yaml)? Write one per model, or `cam-gitops import --all`; "
                "--allow-empty accepts a project with no models yet",
            )
        )
    return result


def _shown(project: Project, findings: Sequence[Finding]) -> list[Finding]:
    if not project.prefix:
        return list(findings)
    return [dataclasses.replace(f, path=project.shown(f.path)) for f in findings]
