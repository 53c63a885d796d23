"""What a plan, apply or drift run works on: the checked model files of one project, and what
changed since a base revision.

A model is identified by its ARN, not by its file: with a base revision, each file is compared
with the earlier version of the same model wherever it lived (a rename keeps `cannot-unset`
working), a file whose ARN changed is a retarget, a model no file manages any more is
reported unmanaged, and a file that moved between folders shows the rule values that changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from cam_gitops.check.checker import CheckResult
from cam_gitops.check.policy import Policy
from cam_gitops.check.policydiff import PolicyDiff
from cam_gitops.check.run import CheckOptions, CheckOutcome, check_selection, project_policy
from cam_gitops.exitcodes import FINDINGS, OK, USAGE
from cam_gitops.findings import Finding, Severity, sorted_findings
from cam_gitops.live.plan import UNMANAGED, Change, RuleMove
from cam_gitops.model import UPDATABLE_FIELDS, ModelSpec
from cam_gitops.workspace.layout import POLICY_FILE, Project, Selection, find_project, is_model_path, select

_Shown = TypeVar("_Shown")


@dataclass(frozen=True)
class Target:
    """A model file to plan or apply, and what the base revision says about it."""

    model: ModelSpec
    rules: Mapping[str, Any] = field(default_factory=dict)
    removed_fields: tuple[str, ...] = ()
    retarget_from: str | None = None
    moved_from: str | None = None
    policy_moves: tuple[RuleMove, ...] = ()
    waived: tuple[Finding, ...] = ()  # the check's findings on the file that a waiver covers

    @property
    def path(self) -> str:
        """The model file, relative to the project root."""
        return self.model.path

    @property
    def arn(self) -> str:
        """The configured audience model the file manages."""
        return self.model.arn

    @property
    def desired(self) -> dict[str, Any]:
        """The fields the file sets."""
        return self.model.desired


@dataclass(frozen=True)
class Targets:
    """What a run works on, once the check passed."""

    project: Project
    check: CheckOutcome
    targets: list[Target]
    unmanaged: list[Change]  # models no file manages any more since the base revision
    policy: Policy | None = None
    today: dt.date = field(default_factory=dt.date.today)
    policy_diff: PolicyDiff | None = None  # with a base revision where policy.yaml differs

    def policy_view(self) -> PolicyDiff | None:
        """The policy diff, naming the policy file as the user reads it."""
        if self.policy_diff is None:
            return None
        return dataclasses.replace(self.policy_diff, path=self.project.shown(self.policy_diff.path))

    def project_view_check(self) -> CheckOutcome:
        """The check outcome with paths as the user reads them."""
        result = dataclasses.replace(self.check.result, findings=self.project_view(self.check.result.findings))
        return dataclasses.replace(self.check, result=result)

    def blocked(self) -> dict[str, list[Finding]]:
        """Model files the check found errors in: path -> its error findings."""
        found: dict[str, list[Finding]] = {}
        for finding in self.check.result.findings:
            if finding.severity is Severity.ERROR and is_model_path(finding.path):
                found.setdefault(finding.path, []).append(finding)
        return found

    def project_view(self, items: Sequence[_Shown]) -> list[_Shown]:
        """Results with paths as the user reads them (relative to the folder the command ran in)."""
        if not self.project.prefix:
            return list(items)
        return [cast(Any, dataclasses.replace)(item, path=self.project.shown(cast(Any, item).path)) for item in items]


@dataclass(frozen=True)
class Scope:
    """Which model files a run selects."""

    paths: Sequence[str] = ()
    changed_since: str | None = None
    policy_file: str | None = None
    allow_empty: bool = False
    today: dt.date | None = None


def collect_targets(scope: Scope, cwd: Path | None = None) -> Targets:
    """Select the model files (all, PATHS, or changed since a revision), check them against the
    policy (cross-file rules see the whole project), and make targets."""
    cwd = cwd or Path.cwd()
    project, paths = find_project(cwd, scope.paths, scope.policy_file)
    today = scope.today or dt.date.today()
    options = CheckOptions(
        paths, scope.policy_file, keep_models=True, today=today, allow_empty=scope.allow_empty, require_policy=True
    )
    policy, notes = project_policy(project, options)
    if policy is None:
        return Targets(project, CheckOutcome(CheckResult(0, sorted_findings(notes)), USAGE), [], [], None, today)
    changed = None
    if scope.changed_since is not None:
        from cam_gitops.workspace.git import changed_since

        changed = changed_since(project.root, scope.changed_since, _policy_in_project(project))
        selection = _changed_selection(project, paths, changed.present, changed.policy_changed, cwd)
    else:
        selection = select(project, paths, cwd)
    result = check_selection(project, selection, policy, options)
    result.findings = sorted_findings([*result.findings, *notes])
    outcome = CheckOutcome(result, FINDINGS if result.errors else OK, policy)
    waived: dict[str, list[Finding]] = {}
    for finding in result.waived_findings:
        waived.setdefault(finding.path, []).append(finding)
    if changed is None:
        targets = [Target(m, policy.rules_for(m.path), waived=tuple(waived.get(m.path, ()))) for m in result.models]
        return Targets(project, outcome, targets, [], policy, today)
    history = _History.read(project.root, changed.commit, [*changed.present, *changed.deleted])
    targets = [
        dataclasses.replace(history.target(m, policy), waived=tuple(waived.get(m.path, ()))) for m in result.models
    ]
    unmanaged = history.unmanaged(project.root, targets, changed.deleted)
    diff = _policy_diff(project, changed.commit, policy) if changed.policy_changed else None
    return Targets(project, outcome, targets, unmanaged, policy, today, diff)


def _policy_diff(project: Project, commit: str, policy: Policy) -> PolicyDiff:
    """The policy at the base revision against this one (a missing or invalid base: no rules)."""
    import tempfile

    from cam_gitops.check.policy import empty_policy, load_policy
    from cam_gitops.check.policydiff import diff_policies
    from cam_gitops.workspace.git import files_at

    relative = _policy_in_project(project)
    raw = files_at(project.root, commit, [relative]).get(relative)
    before = empty_policy(relative)
    if raw is not None:
        with tempfile.TemporaryDirectory(prefix="cam-gitops-base-") as folder:
            path = Path(folder, "policy.yaml")
            path.write_bytes(raw)
            before = load_policy(path, relative).policy or before
    return diff_policies(before, policy)


def _policy_in_project(project: Project) -> str:
    relative = project.relative(project.policy_path)
    return relative if not relative.startswith("../") else POLICY_FILE


def _changed_selection(
    project: Project, paths: Sequence[str], present: Sequence[str], policy_changed: bool, cwd: Path
) -> Selection:
    """The changed model files (within PATHS when given); every file when the policy or a
    schema changed, since a policy change can break any model."""
    if policy_changed:
        return select(project, paths, cwd)
    wanted = [str(project.root / p) for p in present]
    if paths:
        scoped = {s.display_path for s in select(project, paths, cwd).files}
        wanted = [str(project.root / p) for p in present if p in scoped]
    selection = select(project, wanted, cwd) if wanted else Selection()
    return selection


@dataclass
class _History:
    """Model files as they were at the base revision: by path and by ARN."""

    arn_at: dict[str, str]  # path -> ARN
    data_by_arn: dict[str, tuple[str, Mapping[str, Any]]]  # ARN -> (path, data)

    @classmethod
    def read(cls, root: Path, commit: str, paths: Sequence[str]) -> _History:
        from cam_gitops.loader import load_bytes
        from cam_gitops.workspace.git import files_at

        arn_at: dict[str, str] = {}
        data_by_arn: dict[str, tuple[str, Mapping[str, Any]]] = {}
        for path, raw in sorted(files_at(root, commit, paths).items()):
            document = load_bytes(raw, path, Path(path).suffix.lower()).document
            arn = document.data.get("configuredAudienceModelArn") if document else None
            if document is not None and isinstance(arn, str):
                arn_at[path] = arn
                data_by_arn.setdefault(arn, (path, document.data))
        return cls(arn_at, data_by_arn)

    def target(self, model: ModelSpec, policy: Policy) -> Target:
        rules = policy.rules_for(model.path)
        earlier = self.data_by_arn.get(model.arn)
        removed: tuple[str, ...] = ()
        moved_from = None
        moves: tuple[RuleMove, ...] = ()
        if earlier is not None:
            old_path, old_data = earlier
            removed = tuple(f for f in UPDATABLE_FIELDS if f in old_data and f not in model.desired)
            if old_path != model.path:
                moved_from = old_path
                moves = _rule_moves(policy.rules_for(old_path), rules)
        old_arn = self.arn_at.get(model.path)
        retarget_from = old_arn if old_arn is not None and old_arn != model.arn else None
        return Target(model, rules, removed, retarget_from, moved_from, moves)

    def unmanaged(self, root: Path, targets: Sequence[Target], deleted: Sequence[str]) -> list[Change]:
        """Models a changed or deleted file managed at the base revision that no file manages now."""
        from cam_gitops.check.crossfile import other_owners

        managed = {t.arn for t in targets}
        gone = {arn: path for path, arn in self.arn_at.items() if arn not in managed}
        still = other_owners(root, gone, [t.path for t in targets])
        retargeted = {t.retarget_from: t for t in targets if t.retarget_from}
        changes = []
        for arn, path in sorted(gone.items(), key=lambda item: item[1]):
            if arn in still:
                continue
            if arn in retargeted:
                by = retargeted[arn]
                message = (
                    f"{by.path} now manages {by.arn} instead: this model is no longer managed by any file and "
                    "stays in AWS as it is (cam-gitops never deletes); import it again if that was a mistake"
                )
            elif path in deleted:
                message = "file deleted: the model stays in AWS (cam-gitops never deletes); delete it there if intended"
            else:
                message = "no file manages this model any more: it stays in AWS as it is (cam-gitops never deletes)"
            changes.append(Change(path, arn, UNMANAGED, error=message))
        return changes


def _rule_moves(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[RuleMove, ...]:
    return tuple(
        RuleMove(rule, before.get(rule), after.get(rule))
        for rule in sorted(set(before) | set(after))
        if before.get(rule) != after.get(rule)
    )
