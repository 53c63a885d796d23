"""The check: parse, schema, policy rules, cross-file rules and waivers over a set of files."""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from cam_gitops.check.crossfile import owners_text
from cam_gitops.check.engine import apply_rules
from cam_gitops.check.policy import Policy
from cam_gitops.check.rules import CHECKS
from cam_gitops.check.schema import MODEL_SCHEMA, validate
from cam_gitops.findings import Finding, Position, Severity, error, sorted_findings, warning
from cam_gitops.loader import SourceDocument, load_file
from cam_gitops.model import ModelSpec, model_from_document
from cam_gitops.workspace.layout import ModelFile

FILE_START = Position(1, 1)

# Below this many files a second process costs more than it saves (fork plus result transfer).
PARALLEL_THRESHOLD = 300


class FileResult(NamedTuple):
    """What checking one file produced."""

    path: str
    findings: tuple[Finding, ...]
    arn: str | None = None
    arn_position: Position = FILE_START
    model: ModelSpec | None = None


@dataclass
class CheckResult:
    """What a whole check produced."""

    files_checked: int
    findings: list[Finding]
    waived_findings: list[Finding] = field(default_factory=list)
    models: list[ModelSpec] = field(default_factory=list)

    @property
    def waived(self) -> int:
        """Number of findings a waiver in force covers (listed, never silently dropped)."""
        return len(self.waived_findings)

    @property
    def errors(self) -> int:
        """Number of error findings."""
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        """Number of warning findings."""
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)


def check_file(model_file: ModelFile, policy: Policy, keep_model: bool = False) -> FileResult:
    """Parse, validate and run the policy rules in force on one model file."""
    loaded = load_file(model_file.fs_path, model_file.display_path)
    document = loaded.document
    if document is None:
        return FileResult(model_file.display_path, loaded.findings)
    findings = list(loaded.findings) + validate(document, MODEL_SCHEMA) + _policy_size(document)
    arn = document.data.get("configuredAudienceModelArn")
    arn = arn if isinstance(arn, str) else None
    arn_position = document.locate(("configuredAudienceModelArn",))
    if any(f.severity is Severity.ERROR for f in findings):
        return FileResult(model_file.display_path, tuple(findings), arn, arn_position)
    model = model_from_document(document)
    findings += apply_rules(model, policy.rules_for(model_file.display_path))
    return FileResult(model_file.display_path, tuple(findings), arn, arn_position, model if keep_model else None)


MAX_POLICY_CHARS = 20480  # botocore's ResourcePolicy shape: the policy text the API takes


def _policy_size(document: SourceDocument) -> list[Finding]:
    """A resource policy longer than the API takes, as sent (compact JSON): refused here, not by AWS."""
    policy = document.data.get("resourcePolicy")
    if not isinstance(policy, dict):
        return []
    import json

    size = len(json.dumps(policy, ensure_ascii=False, separators=(",", ":")))
    if size <= MAX_POLICY_CHARS:
        return []
    message = f"resourcePolicy is {size} characters as JSON; the API takes at most {MAX_POLICY_CHARS}: shorten it"
    return [error(document.path, document.locate(("resourcePolicy",)), "schema", message)]


_WORKER_POLICY: Policy | None = None
_WORKER_FILES: Sequence[ModelFile] = ()
_WORKER_KEEP_MODELS = False


def _check_slice(bounds: tuple[int, int]) -> list[FileResult]:
    assert _WORKER_POLICY is not None
    return [check_file(f, _WORKER_POLICY, _WORKER_KEEP_MODELS) for f in _WORKER_FILES[bounds[0] : bounds[1]]]


def _check_all(files: Sequence[ModelFile], policy: Policy, keep_models: bool, jobs: int) -> list[FileResult]:
    if jobs <= 1 or len(files) < PARALLEL_THRESHOLD:
        return [check_file(f, policy, keep_models) for f in files]
    import multiprocessing

    global _WORKER_POLICY, _WORKER_FILES, _WORKER_KEEP_MODELS
    # Inherited by the forked workers: only slice bounds go to them, never a pickled file list.
    # Models come back pickled (plan and apply need them): a fraction of what parsing costs.
    _WORKER_POLICY, _WORKER_FILES, _WORKER_KEEP_MODELS = policy, files, keep_models
    size = max(1, len(files) // (jobs * 8))
    slices = [(start, min(start + size, len(files))) for start in range(0, len(files), size)]
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(jobs) as pool:
            return [result for chunk in pool.map(_check_slice, slices, chunksize=1) for result in chunk]
    finally:
        _WORKER_POLICY, _WORKER_FILES, _WORKER_KEEP_MODELS = None, (), False


def default_jobs() -> int:
    """Worker processes for a large check: one per available core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def run_check(
    files: Sequence[ModelFile],
    policy: Policy,
    *,
    today: dt.date | None = None,
    complete: bool = True,
    keep_models: bool = False,
    jobs: int = 1,
    elsewhere: Callable[[list[str]], Mapping[str, Sequence[str]]] | None = None,
) -> CheckResult:
    """Check files against the schema and policy; complete=True means every model file is in
    files, else `elsewhere` maps the files' ARNs to the other model files that manage them."""
    results = _check_all(files, policy, keep_models, jobs)
    findings: list[Finding] = [f for r in results for f in r.findings]
    others = elsewhere([r.arn for r in results if r.arn]) if elsewhere is not None else {}
    findings += _duplicate_arns(results, others)
    findings, waived = _apply_waivers(findings, policy, today or dt.date.today(), [r.path for r in results], complete)
    models = [r.model for r in results if r.model is not None]
    return CheckResult(len(files), sorted_findings(findings), sorted_findings(waived), models)


def _duplicate_arns(results: Sequence[FileResult], elsewhere: Mapping[str, Sequence[str]]) -> list[Finding]:
    by_arn: dict[str, list[FileResult]] = defaultdict(list)
    for result in results:
        if result.arn:
            by_arn[result.arn].append(result)
    findings = []
    for arn, owners in by_arn.items():
        outside = list(elsewhere.get(arn, ()))
        if len(owners) + len(outside) < 2:
            continue
        paths = [o.path for o in owners] + outside
        for owner in owners:
            others = owners_text(p for p in paths if p != owner.path)
            findings.append(
                error(
                    owner.path,
                    owner.arn_position,
                    "duplicate-arn",
                    f"{_short(arn)} is also managed by {others}; keep exactly one file per model",
                )
            )
    return findings


def _short(arn: str, limit: int = 120) -> str:
    return arn if len(arn) <= limit else arn[: limit - 3] + "..."


def _apply_waivers(
    findings: list[Finding], policy: Policy, today: dt.date, checked: list[str], complete: bool
) -> tuple[list[Finding], list[Finding]]:
    kept: list[Finding] = []
    used = [0] * len(policy.waivers)
    waived: list[Finding] = []
    for finding in findings:
        index = waiver_for(finding, policy, today)
        if index is None:
            kept.append(finding)
        else:
            used[index] += 1
            waived.append(finding)
    for index, waiver in enumerate(policy.waivers):
        if waiver.expired(today):
            kept.append(
                error(
                    policy.path,
                    waiver.position,
                    "waiver-expired",
                    f"waiver of {waiver.rule} for {waiver.path} expired on {waiver.expires.isoformat()}; "
                    "fix the model or renew the waiver with a reason",
                )
            )
        elif not used[index] and (complete or any(waiver.applies_to(p, waiver.rule) for p in checked)):
            kept.append(
                warning(
                    policy.path,
                    waiver.position,
                    "waiver-unused",
                    f"waiver of {waiver.rule} for {waiver.path} waives nothing; remove it",
                )
            )
    return kept, waived


def split_waived(findings: Sequence[Finding], policy: Policy, today: dt.date) -> tuple[list[Finding], list[Finding]]:
    """(findings no waiver covers, findings a waiver in force covers)."""
    kept: list[Finding] = []
    waived: list[Finding] = []
    for finding in findings:
        (kept if waiver_for(finding, policy, today) is None else waived).append(finding)
    return kept, waived


def waiver_for(finding: Finding, policy: Policy, today: dt.date) -> int | None:
    """The index of the waiver that covers a finding: the first in force that matches it."""
    if finding.rule not in CHECKS:
        return None
    for index, waiver in enumerate(policy.waivers):
        if not waiver.expired(today) and waiver.applies_to(finding.path, finding.rule):
            return index
    return None
