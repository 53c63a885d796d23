"""The org policy file: loading, validation, overrides per folder, and waivers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from cam_gitops.check.globs import path_matches
from cam_gitops.check.schema import POLICY_SCHEMA, validate
from cam_gitops.findings import Finding, Position, error, warning
from cam_gitops.loader import POLICY_FILE, SourceDocument, load_file

DEFAULT_POLICY_FILE = "policy.yaml"


class Override(NamedTuple):
    """Rule values that replace the top-level ones for files matching any of the globs."""

    paths: tuple[str, ...]
    rules: Mapping[str, Any]


class Waiver(NamedTuple):
    """A reasoned, expiring exception to one rule for matching files."""

    path: str
    rule: str
    reason: str
    expires: dt.date
    position: Position

    def applies_to(self, model_path: str, rule: str) -> bool:
        """Whether this waiver covers a finding of rule in model_path."""
        return rule == self.rule and (self.path == model_path or path_matches(self.path, model_path))

    def expired(self, today: dt.date) -> bool:
        """A waiver holds through its expiry day."""
        return today > self.expires


class IgnoredModel(NamedTuple):
    """A live model (ARN or glob) deliberately left without a file, and why."""

    arn: str
    reason: str
    expires: dt.date | None = None


@dataclass(frozen=True)
class Policy:
    """The org policy in force for a run."""

    path: str
    rules: Mapping[str, Any] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    ignore_unmanaged: tuple[IgnoredModel, ...] = ()
    unmanaged_tag_keys: tuple[str, ...] = ()  # globs of tag keys left to others

    def owns_tag(self, key: str) -> bool:
        """Whether a file that manages its tags owns this tag key (aws: keys are AWS's own)."""
        from cam_gitops.check.globs import BLANKS, glob_to_matcher

        if key.lower().startswith("aws:"):
            return False
        return not any(glob_to_matcher(glob, never=BLANKS)(key) for glob in self.unmanaged_tag_keys)

    def rules_for(self, model_path: str) -> dict[str, Any]:
        """The rule values in force for one model file, overrides applied in order."""
        rules = dict(self.rules)
        for override in self.overrides:
            if any(path_matches(glob, model_path) for glob in override.paths):
                rules.update(override.rules)
        return rules


class PolicyLoad(NamedTuple):
    """A policy, or the findings on the policy file that make it unusable."""

    policy: Policy | None
    findings: tuple[Finding, ...]


def empty_policy(path: str) -> Policy:
    """The policy of a repository without a policy file: schema checks only."""
    return Policy(path=path)


def load_policy(fs_path: Path, display_path: str) -> PolicyLoad:
    """Read, validate and type the policy file; findings use rule `policy`.

    The whole file is read by the same strict loader, with the same size cap, as a model
    file: nothing is decided on a prefix. A file that sets no `rules` is an error, so that
    a policy can only enforce nothing when it says so (`rules: {}`).
    """
    loaded = load_file(fs_path, display_path, POLICY_FILE)
    findings = [_as_policy_finding(f) for f in loaded.findings]
    document = loaded.document
    if document is None or any(f.severity.value == "error" for f in findings):
        return PolicyLoad(None, tuple(findings))
    if document.data.get("rules") is None:
        findings.append(_no_rules(document))
        document = dataclasses.replace(document, data={k: v for k, v in document.data.items() if k != "rules"})
    findings += [_as_policy_finding(f) for f in validate(document, POLICY_SCHEMA)]
    if any(f.severity.value == "error" for f in findings):
        return PolicyLoad(None, tuple(findings))  # the semantic checks rely on the schema's shapes
    if "required-version" in document.data:  # the version reader is imported only for a pin
        from cam_gitops.check.version import required_version_findings

        findings += required_version_findings(document)
    findings += _semantic_problems(document)
    if any(f.severity.value == "error" for f in findings):
        return PolicyLoad(None, tuple(findings))
    return PolicyLoad(_build(document), tuple(findings))


NO_RULES = "write `rules:` with the rules every model must follow, or `rules: {}` to enforce no org rules on purpose"


def _no_rules(document: SourceDocument) -> Finding:
    if "rules" in document.data:
        return error(document.path, document.locate(("rules",)), "policy", f"rules is empty; {NO_RULES}")
    return error(document.path, Position(1, 1), "policy", f"policy sets no rules; {NO_RULES}")


def _as_policy_finding(finding: Finding) -> Finding:
    if finding.rule in ("schema",):
        return Finding(finding.path, finding.position, "policy", finding.severity, finding.message)
    return finding


def _build(document: SourceDocument) -> Policy:
    data = document.data
    overrides = tuple(
        Override(paths=tuple(item["paths"]), rules=dict(item["rules"])) for item in data.get("overrides", [])
    )
    waivers = tuple(
        Waiver(
            path=item["path"],
            rule=item["rule"],
            reason=item["reason"],
            expires=dt.date.fromisoformat(item["expires"]),
            position=document.locate(("waivers", index)),
        )
        for index, item in enumerate(data.get("waivers", []))
    )
    ignored = tuple(
        IgnoredModel(
            arn=item["arn"],
            reason=item["reason"],
            expires=dt.date.fromisoformat(item["expires"]) if "expires" in item else None,
        )
        for item in data.get("ignore-unmanaged", [])
    )
    return Policy(
        path=document.path,
        rules=dict(data.get("rules", {})),
        overrides=overrides,
        waivers=waivers,
        ignore_unmanaged=ignored,
        unmanaged_tag_keys=tuple(data.get("unmanaged-tag-keys", [])),
    )


def _semantic_problems(document: SourceDocument) -> list[Finding]:
    """What the policy schema cannot say: real dates, sane ranges, clean prefixes; and the
    globs that reach every model file, which a reviewer must see."""
    data = document.data
    problems: list[Finding] = _broad_globs(document)
    for key in ("waivers", "ignore-unmanaged"):
        for index, item in enumerate(data.get(key, [])):
            if "expires" not in item:
                continue
            try:
                dt.date.fromisoformat(item["expires"])
            except ValueError:
                problems.append(
                    error(
                        document.path,
                        document.locate((key, index, "expires")),
                        "policy",
                        f"{key}[{index}].expires is not a real date: {item['expires']}; use YYYY-MM-DD",
                    )
                )
    blocks: list[tuple[tuple[str | int, ...], Mapping[str, Any]]] = [(("rules",), data.get("rules", {}))]
    blocks += [(("overrides", i, "rules"), o["rules"]) for i, o in enumerate(data.get("overrides", []))]
    for where, rules in blocks:
        problems += _range_problems(document, where, rules)
    return problems


def pattern_problem(pattern: str) -> str | None:
    """Why a policy's regular expression cannot be used, or None.

    Refused: what does not compile, and a repeat inside a repeated group or alternation
    (`(a+)+`, `(a|a)*`), which can take exponential time on a short value: a tag value is
    hostile input too."""
    import importlib
    import re

    # the parser of re itself, so the pattern is judged as re will run it (re._parser from 3.11)
    try:
        sre_parse: Any = importlib.import_module("re._parser")
    except ImportError:  # Python 3.10
        sre_parse = importlib.import_module("sre_parse")

    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"is not a valid regular expression ({exc}); fix it"
    if _nested_repeat(list(parsed.data), inside=False):
        return (
            "repeats a group that itself repeats or alternates, which can take exponential time on some "
            "values; write it without nested repeats"
        )
    return None


def _nested_repeat(items: list[Any], inside: bool) -> bool:
    """Whether a parsed pattern repeats something that can match the same text in more than one
    way. A repeated group that starts with a literal its inner repeats cannot match (the `-`
    of `[a-z]+(-[a-z]+)*`) is a delimiter: each repetition starts at one place, so it is safe."""
    for op, value in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            _, high, sub = value
            body = list(sub)
            if inside or (high != 1 and not _delimited(body) and _nested_repeat(body, inside=True)):
                return True
        elif name in ("SUBPATTERN", "BRANCH") and _inner_repeat(name, value, inside):
            return True
    return False


def _inner_repeat(name: str, value: Any, inside: bool) -> bool:
    if name == "SUBPATTERN":
        return _nested_repeat(list(value[-1]), inside)
    return inside or any(_nested_repeat(list(branch), inside) for branch in value[1])


def _delimited(body: list[Any]) -> bool:
    """A group body that starts with a literal character none of its repeats can match."""
    if len(body) == 1 and str(body[0][0]) == "SUBPATTERN":
        body = list(body[0][1][-1])
    if not body or str(body[0][0]) != "LITERAL":
        return False
    first = body[0][1]
    for op, value in body[1:]:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            inner = list(value[2])
            if len(inner) != 1 or not _excludes(inner[0], first):
                return False
        elif name not in ("LITERAL", "IN"):
            return False
    return True


def _excludes(item: Any, char: int) -> bool:
    """Whether one parsed item (a literal or a simple class) can never match the character."""
    op, value = item
    name = str(op)
    if name == "LITERAL":
        return bool(value != char)
    if name != "IN":
        return False
    for member_op, member in value:
        member_name = str(member_op)
        if member_name == "LITERAL" and member == char:
            return False
        if member_name == "RANGE" and member[0] <= char <= member[1]:
            return False
        if member_name not in ("LITERAL", "RANGE"):
            return False
    return True


def _broad_globs(document: SourceDocument) -> list[Finding]:
    """A waiver or an override whose glob matches every model file, as a warning: a
    project-wide exception hides in one line of review."""
    from cam_gitops.check.globs import matches_everything

    data = document.data
    found: list[Finding] = []
    for index, waiver in enumerate(data.get("waivers", [])):
        if matches_everything(waiver["path"]):
            found.append(
                warning(
                    document.path,
                    document.locate(("waivers", index, "path")),
                    "policy",
                    f"waiver of {waiver['rule']} for {waiver['path']} matches every model file: it turns the rule "
                    "off for the whole project; name the files or folders it is for",
                )
            )
    for index, override in enumerate(data.get("overrides", [])):
        for glob_index, glob in enumerate(override["paths"]):
            if matches_everything(glob):
                found.append(
                    warning(
                        document.path,
                        document.locate(("overrides", index, "paths", glob_index)),
                        "policy",
                        f"override paths {glob} matches every model file: its rules replace the top-level rules "
                        "everywhere; change the top-level rules instead, or name the folders it is for",
                    )
                )
    return found


def _range_problems(document: SourceDocument, where: tuple[str | int, ...], rules: Mapping[str, Any]) -> list[Finding]:
    problems: list[Finding] = []
    for key, spec in (rules.get("required-tags") or {}).items():
        problem = pattern_problem(spec["pattern"]) if "pattern" in spec else None
        if problem:
            problems.append(
                error(
                    document.path,
                    document.locate((*where, "required-tags", key, "pattern")),
                    "policy",
                    f"required-tags {key} pattern {problem}",
                )
            )
    size = rules.get("audience-size", {})
    for low, high in (("min-bin", "max-bin"), ("min-percentage", "max-percentage")):
        if low in size and high in size and size[low] > size[high]:
            problems.append(
                error(
                    document.path,
                    document.locate((*where, "audience-size", low)),
                    "policy",
                    f"audience-size {low} ({size[low]}) is greater than {high} ({size[high]}); no bin could pass",
                )
            )
    for index, prefix in enumerate(rules.get("allowed-s3-prefixes", [])):
        segments = prefix[len("s3://") :].split("/")[1:]
        if any(s in (".", "..") for s in segments) or "" in segments[:-1]:
            problems.append(
                error(
                    document.path,
                    document.locate((*where, "allowed-s3-prefixes", index)),
                    "policy",
                    f"allowed-s3-prefixes entry {prefix} has an empty, '.' or '..' segment; write a clean prefix",
                )
            )
    return problems
