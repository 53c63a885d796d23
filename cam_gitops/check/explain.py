"""`explain`: why a model file passes or fails, and what each part of policy.yaml applies to.

For a model file: every policy rule with the value in force after overrides and where that
value came from, the waivers that match the file, and each rule's result on the file and, given
the live model, on the model as it will be after the update. For policy.yaml: which model files
each override and waiver matches. Pure: the caller passes a function that reads the live model,
so this module never imports boto3. Returns results and an exit code; never prints or exits.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cam_gitops.check.catalog import RULES
from cam_gitops.check.checker import waiver_for
from cam_gitops.check.engine import apply_rules, effective_findings, effective_model, live_only_fields
from cam_gitops.check.globs import path_matches
from cam_gitops.check.policy import IgnoredModel, Policy, Waiver
from cam_gitops.check.run import CheckOptions, check_selection, project_policy
from cam_gitops.exitcodes import FINDINGS, OK, USAGE
from cam_gitops.findings import Finding, Severity, sorted_findings
from cam_gitops.model import ModelSpec
from cam_gitops.workspace.layout import (
    MODELS_DIR,
    Project,
    Selection,
    UsageError,
    all_model_files,
    find_project,
    select,
)

# What a rule gave on the file or on the effective state.
PASS = "pass"
FAIL = "fail"
WAIVED = "waived"  # every finding is covered by a waiver in force
NOT_ENFORCED = "not enforced"
NOT_RUN = "not run"  # the file has parse or schema errors, so no rule could judge it

LiveReader = Callable[[ModelSpec], Mapping[str, Any] | str]  # the live model, or why it could not be read


@dataclass(frozen=True)
class ValueSource:
    """One step of a rule's value: the top level, or an override (index, globs) that replaced it."""

    value: Any
    override: int | None = None
    paths: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """`top level` or `overrides[N]`."""
        return "top level" if self.override is None else f"overrides[{self.override}]"


@dataclass(frozen=True)
class Explained:
    """A finding and the waiver in force that covers it (its index), if any."""

    finding: Finding
    waived_by: int | None = None
    from_live: bool = False  # about a live value the file does not set: it has no line in the file


@dataclass(frozen=True)
class RuleResult:
    """A rule's status and findings on the file or on the effective state."""

    status: str
    findings: tuple[Explained, ...] = ()


@dataclass(frozen=True)
class RuleExplanation:
    """One policy rule for one file: its value chain (empty: not enforced) and its results."""

    rule: str
    summary: str
    chain: tuple[ValueSource, ...]
    on_file: RuleResult
    on_effective: RuleResult | None = None

    @property
    def enforced(self) -> bool:
        """Whether the policy configures this rule for the file."""
        return bool(self.chain)

    @property
    def value(self) -> Any:
        """The value in force (the last step of the chain)."""
        return self.chain[-1].value if self.chain else None


@dataclass(frozen=True)
class OverrideMatch:
    """An override whose globs match the file, and which of them do."""

    index: int
    paths: tuple[str, ...]
    matched_by: tuple[str, ...]


@dataclass(frozen=True)
class WaiverMatch:
    """A waiver whose path matches the file: its state today and what it waives now."""

    index: int
    waiver: Waiver
    expired: bool
    waives: int  # findings it covers now (file and effective state)
    rule_enforced: bool


@dataclass(frozen=True)
class LiveState:
    """What the live model adds: values of fields the file does not set, or why it is unknown."""

    values_not_in_file: tuple[tuple[str, Any], ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ModelExplanation:
    """Everything `explain` says about one model file."""

    path: str  # as the user reads it
    project_path: str  # as policy.yaml names it
    policy_path: str
    policy_notes: tuple[Finding, ...]
    overrides: tuple[OverrideMatch, ...]
    rules: tuple[RuleExplanation, ...]
    waivers: tuple[WaiverMatch, ...]
    other_findings: tuple[Explained, ...]  # parse, schema, duplicate-key, duplicate-arn, path
    live: LiveState | None
    today: dt.date

    def all_findings(self) -> list[Explained]:
        """Every finding on the file and on the effective state."""
        return _every_finding(self.other_findings, self.rules)

    @property
    def errors(self) -> int:
        """Error findings no waiver covers."""
        return sum(1 for e in self.all_findings() if e.waived_by is None and e.finding.severity is Severity.ERROR)

    @property
    def waived(self) -> int:
        """Findings a waiver in force covers."""
        return sum(1 for e in self.all_findings() if e.waived_by is not None)


@dataclass(frozen=True)
class FileMatches:
    """The model files a list of globs matches, with the count for each glob."""

    files: tuple[str, ...]
    per_glob: tuple[tuple[str, int], ...]
    total: int  # model files in the project

    @property
    def every_file(self) -> bool:
        """Whether every model file of the project is matched (and there is at least one)."""
        return self.total > 0 and len(self.files) == self.total


@dataclass(frozen=True)
class OverrideView:
    """An override of policy.yaml and the files it applies to."""

    index: int
    paths: tuple[str, ...]
    rules: Mapping[str, Any]
    matches: FileMatches


@dataclass(frozen=True)
class WaiverView:
    """A waiver of policy.yaml, its state today and the files it matches."""

    index: int
    waiver: Waiver
    expired: bool
    matches: FileMatches


@dataclass(frozen=True)
class PolicyExplanation:
    """Everything `explain` says about policy.yaml."""

    path: str
    model_files: int
    rules: Mapping[str, Any]
    overrides: tuple[OverrideView, ...]
    waivers: tuple[WaiverView, ...]
    ignored: tuple[tuple[IgnoredModel, bool], ...]  # each entry, and whether it expired
    notes: tuple[Finding, ...]
    today: dt.date


@dataclass(frozen=True)
class ExplainOptions:
    """The inputs of an explain run."""

    path: str
    policy_file: str | None = None
    today: dt.date | None = None


@dataclass(frozen=True)
class ExplainOutcome:
    """An explanation (None when the policy is invalid: its findings say why) and the exit code."""

    explanation: ModelExplanation | PolicyExplanation | None
    exit_code: int
    policy_findings: tuple[Finding, ...] = ()


def execute_explain(
    options: ExplainOptions, cwd: Path | None = None, read_live: LiveReader | None = None
) -> ExplainOutcome:
    """Explain one model file or the project's policy file; raises UsageError for a path that
    is neither, or a missing file."""
    cwd = cwd or Path.cwd()
    project, _ = find_project(cwd, [options.path], options.policy_file)
    today = options.today or dt.date.today()
    given = Path(options.path) if os.path.isabs(options.path) else cwd / options.path
    if not given.exists():
        raise UsageError(f"{options.path}: no such file")
    if given.is_dir():
        raise UsageError(f"{options.path}: a folder; explain takes one model file or the project's policy.yaml")
    is_policy = os.path.realpath(given) == os.path.realpath(project.policy_path)
    selection = None if is_policy else _one_model_file(project, options.path, cwd)
    check_options = CheckOptions([options.path], options.policy_file, keep_models=True, today=today)
    policy, notes = project_policy(project, check_options)
    if policy is None:
        return ExplainOutcome(None, USAGE, tuple(_shown(project, f) for f in notes))
    if selection is None:
        return ExplainOutcome(explain_policy(project, policy, today, notes), OK)
    result = check_selection(project, selection, policy, check_options)
    path = selection.files[0].display_path
    on_file = [f for f in [*result.findings, *result.waived_findings] if f.path == path]
    model = result.models[0] if result.models else None
    live = read_live(model) if model is not None and read_live is not None else None
    explanation = explain_model(project, policy, path, on_file, model, live, today, notes)
    failed = explanation.errors > 0 or (explanation.live is not None and explanation.live.error is not None)
    return ExplainOutcome(explanation, FINDINGS if failed else OK)


def _one_model_file(project: Project, given: str, cwd: Path) -> Selection:
    """The selection of the one model file a path names, through the predicate every command uses."""
    selection = select(project, [given], cwd)
    if selection.refused:
        refused = selection.refused[0]
        if refused.severity is Severity.ERROR:  # a link or `..` out of the project
            raise UsageError(f"{given}: {refused.message}")
        hidden = any(part.startswith(".") for part in refused.path.split("/"))
        reason = "a hidden file is never checked or applied" if hidden else f"not under {MODELS_DIR}/ of the project"
        raise UsageError(
            f"{given}: not a model file ({reason}), nor the project's policy.yaml; model files are .yaml, .yml "
            f"or .json files under {MODELS_DIR}/ with no hidden part in their path"
        )
    if selection.complete or len(selection.files) != 1:
        raise UsageError(f"{given}: explain takes one model file or the project's policy.yaml")
    return selection


def value_chain(policy: Policy, path: str, rule: str) -> tuple[ValueSource, ...]:
    """How a rule's value for a file came to be: the top-level value, then each matching
    override that sets the rule, in order (the last one is in force; empty: not enforced)."""
    chain = [ValueSource(policy.rules[rule])] if rule in policy.rules else []
    for index, override in enumerate(policy.overrides):
        if rule in override.rules and any(path_matches(glob, path) for glob in override.paths):
            chain.append(ValueSource(override.rules[rule], index, override.paths))
    return tuple(chain)


def explain_model(
    project: Project,
    policy: Policy,
    path: str,
    findings: Sequence[Finding],
    model: ModelSpec | None,
    live: Mapping[str, Any] | str | None,
    today: dt.date,
    notes: Sequence[Finding] = (),
) -> ModelExplanation:
    """The explanation of one model file (path as policy.yaml names it) from its check findings
    (waived ones included), its model (None when parse or schema errors stopped the rules) and
    its live model or the reason it could not be read (None: not asked)."""
    in_force = policy.rules_for(path)

    def explained(items: Sequence[Finding], from_live: Sequence[Finding] = ()) -> tuple[Explained, ...]:
        # waivers match the project's paths; the user reads paths from where the command ran
        return tuple(
            Explained(_shown(project, f), waiver_for(f, policy, today), f in from_live) for f in sorted_findings(items)
        )

    rules: list[RuleExplanation] = []
    for rule, info in RULES.items():
        if not info.configurable:
            continue
        chain = value_chain(policy, path, rule)
        on_file = _result(
            explained([f for f in findings if f.rule == rule]), enforced=bool(chain), ran=model is not None
        )
        on_effective = None
        if model is not None and isinstance(live, Mapping) and chain:
            from_live = effective_findings(model, live, {rule: in_force[rule]})
            # the file's own findings stand unless a live value changes what the rule sees
            standing = [f for f in apply_rules(effective_model(model, live), {rule: in_force[rule]}) if f in findings]
            on_effective = _result(explained([*from_live, *standing], from_live), True, True)
        rules.append(RuleExplanation(rule, info.summary, chain, on_file, on_effective))
    other = explained([f for f in findings if f.rule not in RULES or not RULES[f.rule].configurable])
    used = [e.waived_by for e in _every_finding(other, rules)]
    return ModelExplanation(
        path=project.shown(path),
        project_path=path,
        policy_path=project.shown(project.policy_display),
        policy_notes=tuple(_shown(project, f) for f in notes),
        overrides=tuple(
            OverrideMatch(index, o.paths, matched)
            for index, o in enumerate(policy.overrides)
            if (matched := tuple(g for g in o.paths if path_matches(g, path)))
        ),
        rules=tuple(rules),
        waivers=tuple(
            WaiverMatch(index, w, w.expired(today), used.count(index), w.rule in in_force)
            for index, w in enumerate(policy.waivers)
            if w.applies_to(path, w.rule)
        ),
        other_findings=other,
        live=_live_state(model, live),
        today=today,
    )


def _every_finding(other: Sequence[Explained], rules: Sequence[RuleExplanation]) -> list[Explained]:
    """Each finding once: a file's own finding that stands on the effective state is one finding."""
    found = dict.fromkeys(other)
    for rule in rules:
        found.update(dict.fromkeys(rule.on_file.findings))
        found.update(dict.fromkeys(rule.on_effective.findings if rule.on_effective else ()))
    return list(found)


def _result(findings: tuple[Explained, ...], enforced: bool, ran: bool) -> RuleResult:
    if not enforced:
        return RuleResult(NOT_ENFORCED, findings)
    if not ran:
        return RuleResult(NOT_RUN, findings)
    if not findings:
        return RuleResult(PASS)
    return RuleResult(WAIVED if all(e.waived_by is not None for e in findings) else FAIL, findings)


def _live_state(model: ModelSpec | None, live: Mapping[str, Any] | str | None) -> LiveState | None:
    if live is None or model is None:
        return None
    if isinstance(live, str):
        return LiveState(error=live)
    return LiveState(values_not_in_file=live_only_fields(model, live))


def _shown(project: Project, finding: Finding) -> Finding:
    return Finding(project.shown(finding.path), finding.position, finding.rule, finding.severity, finding.message)


def file_matches(
    globs: Sequence[str], files: Sequence[str], project: Project, match: Callable[[str, str], bool] = path_matches
) -> FileMatches:
    """The files (project paths) that match(glob, file) accepts for any glob, shown as the user
    reads them; match is the very test check applies (overrides: the glob; waivers: also the path)."""
    hits = [(glob, [f for f in files if match(glob, f)]) for glob in globs]
    matched = set().union(*(found for _, found in hits))
    shown = tuple(project.shown(f) for f in files if f in matched)
    return FileMatches(shown, tuple((glob, len(found)) for glob, found in hits), len(files))


def _waiver_match(waiver: Waiver) -> Callable[[str, str], bool]:
    return lambda _glob, path: waiver.applies_to(path, waiver.rule)


def explain_policy(
    project: Project, policy: Policy, today: dt.date, notes: Sequence[Finding] = ()
) -> PolicyExplanation:
    """Which model files each override and waiver of a valid policy matches, and its
    ignore-unmanaged entries."""
    files = [f.display_path for f in all_model_files(project.root)]
    overrides = tuple(
        OverrideView(index, o.paths, o.rules, file_matches(o.paths, files, project))
        for index, o in enumerate(policy.overrides)
    )
    waivers = tuple(
        WaiverView(index, w, w.expired(today), file_matches([w.path], files, project, _waiver_match(w)))
        for index, w in enumerate(policy.waivers)
    )
    ignored = tuple((entry, entry.expires is not None and today > entry.expires) for entry in policy.ignore_unmanaged)
    return PolicyExplanation(
        path=project.shown(project.policy_display),
        model_files=len(files),
        rules=policy.rules,
        overrides=overrides,
        waivers=waivers,
        ignored=ignored,
        notes=tuple(_shown(project, f) for f in notes),
        today=today,
    )
