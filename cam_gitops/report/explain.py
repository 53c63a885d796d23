"""Reporters for `explain`: text and JSON. Pure functions from an outcome to text.

Every string here may come from a file, policy.yaml or AWS: the text report escapes control
and format characters so a hostile name or value cannot drive the terminal. JSON escapes them
itself (ensure_ascii).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from cam_gitops.check.catalog import RULES
from cam_gitops.check.explain import (
    FAIL,
    NOT_ENFORCED,
    PASS,
    Explained,
    ExplainOutcome,
    FileMatches,
    ModelExplanation,
    PolicyExplanation,
    RuleExplanation,
    RuleResult,
    WaiverMatch,
)
from cam_gitops.findings import Finding
from cam_gitops.report.check import Style, finding_dict

FILES_SHOWN = 10  # text lists of matched files stop here, with "and N more"
_STATUS_COLORS = {PASS: "green", FAIL: "red"}


# Local until report/escape.py lands: swap for its terminal escape.
def _safe(text: str) -> str:
    """Untrusted text for a terminal: control and format characters (escape sequences,
    bidirectional overrides, zero-width characters) shown as \\uXXXX."""
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)


def _value(value: Any) -> str:
    return _safe(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _status(result: RuleResult, style: Style) -> str:
    return style.paint(result.status, _STATUS_COLORS.get(result.status), bold=result.status == FAIL)


def _finding_text(item: Explained) -> str:
    finding = item.finding
    where = "live value" if item.from_live else f"{finding.path}:{finding.position.line}:{finding.position.column}"
    waived = f" [waived by waivers[{item.waived_by}]]" if item.waived_by is not None else ""
    return _safe(f"{where}: {finding.severity.value} [{finding.rule}] {finding.message}") + waived


def _chain_text(rule: RuleExplanation) -> str:
    steps = []
    for step in rule.chain:
        where = step.label if step.override is None else f"{step.label} [{', '.join(step.paths)}]"
        steps.append(f"{where} {_value(step.value)}" if len(rule.chain) > 1 else where)
    return _safe(" -> ".join(steps))


def _rule_lines(rule: RuleExplanation, style: Style) -> list[str]:
    if not rule.enforced:
        return [f"  {rule.rule}: {NOT_ENFORCED}"]
    lines = [f"  {style.paint(rule.rule, bold=True)} = {_value(rule.value)}", f"      from: {_chain_text(rule)}"]
    lines.append(f"      file: {_status(rule.on_file, style)}")
    lines += [f"        {_finding_text(item)}" for item in rule.on_file.findings]
    effective = rule.on_effective
    if effective is not None:
        lines.append(f"      effective state: {_status(effective, style)}")
        standing = sum(1 for item in effective.findings if item in rule.on_file.findings)
        lines += [f"        {_finding_text(item)}" for item in effective.findings if item not in rule.on_file.findings]
        if standing:
            lines.append(f"        the file's own {'finding' if standing == 1 else 'findings'} above (set by the file)")
    return lines


def _waiver_line(match: WaiverMatch) -> list[str]:
    waiver = match.waiver
    state = "expired (check reports waiver-expired)" if match.expired else "in force"
    if match.expired or not match.waives:
        waives = "waives nothing now" + ("" if match.rule_enforced else f": {waiver.rule} is not enforced here")
    else:
        waives = f"waives {_plural(match.waives, 'finding')} now"
    head = f"waivers[{match.index}] {waiver.rule} for {waiver.path}, expires {waiver.expires.isoformat()}"
    return [f"  {_safe(head)}: {state}, {waives}", f"      reason: {_safe(waiver.reason)}"]


def _live_lines(explanation: ModelExplanation) -> list[str]:
    live = explanation.live
    if live is None:
        return ["Live model: not read (--live reads it and judges the model as it will be after the update)"]
    if live.error is not None:
        return [f"Live model: could not be read: {_safe(live.error)}"]
    if not live.values_not_in_file:
        return ["Live values of fields the file does not set: none (the file sets every field)"]
    lines = ["Live values of fields the file does not set (an update keeps them):"]
    return lines + [f"  {_safe(field)}: {_value(value)}" for field, value in live.values_not_in_file]


def model_text(explanation: ModelExplanation, style: Style) -> str:
    """A model file: overrides, rules with value, origin and results, waivers, live values."""
    lines = [_safe(f"{explanation.path}: model file, judged by {explanation.policy_path}")]
    lines += [f"note: {_safe(n.message)}" for n in explanation.policy_notes]
    lines += ["", "Overrides matching this file (later ones win):"]
    lines += [
        _safe(f"  overrides[{o.index}] [{', '.join(o.paths)}], matched by {', '.join(o.matched_by)}")
        for o in explanation.overrides
    ] or ["  none"]
    lines += ["", "Rules (values after overrides):"]
    for rule in explanation.rules:
        lines += _rule_lines(rule, style)
    lines += ["", "Waivers matching this file:"]
    lines += [line for match in explanation.waivers for line in _waiver_line(match)] or ["  none"]
    other = explanation.other_findings
    lines += ["", f"Parse, schema and duplicate checks: {'pass' if not other else ''}".rstrip()]
    lines += [f"  {_finding_text(item)}" for item in other]
    lines += ["", *_live_lines(explanation), ""]
    waived = f" ({explanation.waived} waived)" if explanation.waived else ""
    if explanation.errors:
        lines.append(f"Result: fails with {_plural(explanation.errors, 'error')}{waived}.")
    elif explanation.live is not None and explanation.live.error is not None:
        lines.append(f"Result: the file passes{waived}; the effective state is unknown.")
    else:
        lines.append(f"Result: passes{waived}.")
    return "\n".join(lines) + "\n"


def _files_lines(matches: FileMatches, what: str) -> list[str]:
    lines = []
    if len(matches.per_glob) > 1:
        lines.append("      globs: " + ", ".join(f"{_safe(glob)} ({count})" for glob, count in matches.per_glob))
    if matches.every_file:
        lines.append(f"      note: matches every model file ({matches.total}): {what}")
    if not matches.files:
        return [*lines, "      matches no model file"]
    lines.append(f"      matches {_plural(len(matches.files), 'model file')}:")
    lines += [f"        {_safe(path)}" for path in matches.files[:FILES_SHOWN]]
    if len(matches.files) > FILES_SHOWN:
        lines.append(f"        and {len(matches.files) - FILES_SHOWN} more")
    return lines


def _rules_inline(rules: Any) -> str:
    return _safe(", ".join(f"{rule}: {_value(value)}" for rule, value in rules.items()))


def _expiry(expires: dt.date | None, expired: bool) -> str:
    if expires is None:
        return "no expiry"
    return f"{'expired' if expired else 'expires'} {expires.isoformat()}"


def policy_text(explanation: PolicyExplanation, style: Style) -> str:
    """policy.yaml: top-level rules, and the model files each override and waiver matches."""
    lines = [_safe(f"{explanation.path}: valid; {_plural(explanation.model_files, 'model file')} in the project")]
    lines += [f"note: {_safe(n.message)}" for n in explanation.notes]
    lines += ["", "Rules (top level):"]
    lines += [f"  {rule} = {_value(value)}" for rule, value in explanation.rules.items()] or ["  none"]
    unset = [rule for rule, info in RULES.items() if info.configurable and rule not in explanation.rules]
    if unset:
        lines.append(f"  not enforced at the top level: {', '.join(unset)}")
    lines += ["", "Overrides (later ones win):"]
    for override in explanation.overrides:
        lines.append(
            _safe(f"  overrides[{override.index}] [{', '.join(override.paths)}]: ") + _rules_inline(override.rules)
        )
        lines += _files_lines(override.matches, "this override applies to everything")
    if not explanation.overrides:
        lines.append("  none")
    lines += ["", "Waivers:"]
    for view in explanation.waivers:
        waiver = view.waiver
        head = f"  waivers[{view.index}] {waiver.rule} for {waiver.path}, {_expiry(waiver.expires, view.expired)}"
        lines += [_safe(head) + (" (check reports waiver-expired)" if view.expired else " (in force)")]
        lines.append(f"      reason: {_safe(waiver.reason)}")
        lines += _files_lines(view.matches, f"this waiver excuses every model file from {waiver.rule}")
    if not explanation.waivers:
        lines.append("  none")
    lines += ["", "Ignore-unmanaged (drift reports these live models as ignored):"]
    for entry, expired in explanation.ignored:
        lines.append(_safe(f"  {entry.arn}, {_expiry(entry.expires, expired)}"))
        lines.append(f"      reason: {_safe(entry.reason)}")
    if not explanation.ignored:
        lines.append("  none")
    return "\n".join(lines) + "\n"


def invalid_policy_text(findings: Sequence[Finding], style: Style) -> str:
    """The findings that make the policy unusable."""
    lines = [
        _safe(f"{f.path}:{f.position.line}:{f.position.column}: {f.severity.value} [{f.rule}] {f.message}")
        for f in findings
    ]
    lines.append("explain needs a valid policy: fix the findings above")
    return "\n".join(lines) + "\n"


def explain_text(outcome: ExplainOutcome, style: Style) -> str:
    """Text report of an explain run."""
    if isinstance(outcome.explanation, ModelExplanation):
        return model_text(outcome.explanation, style)
    if isinstance(outcome.explanation, PolicyExplanation):
        return policy_text(outcome.explanation, style)
    return invalid_policy_text(outcome.policy_findings, style)


def _explained_dict(explained: Explained) -> dict[str, Any]:
    data = finding_dict(explained.finding)
    if explained.from_live:  # a live value has no place in the file
        data["line"] = data["column"] = None
    return {**data, "waived_by": explained.waived_by, "from_live": explained.from_live}


def _result_dict(result: RuleResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"status": result.status, "findings": [_explained_dict(f) for f in result.findings]}


def _rule_dict(rule: RuleExplanation) -> dict[str, Any]:
    return {
        "rule": rule.rule,
        "summary": rule.summary,
        "enforced": rule.enforced,
        "value": rule.value,
        "source": rule.chain[-1].label if rule.chain else None,
        "chain": [
            {"source": step.label, "override": step.override, "paths": list(step.paths), "value": step.value}
            for step in rule.chain
        ],
        "file": _result_dict(rule.on_file),
        "effective": _result_dict(rule.on_effective),
    }


def model_dict(explanation: ModelExplanation) -> dict[str, Any]:
    """A model file's explanation as JSON data."""
    live = explanation.live
    return {
        "kind": "model",
        "path": explanation.path,
        "project_path": explanation.project_path,
        "policy": explanation.policy_path,
        "today": explanation.today.isoformat(),
        "notes": [finding_dict(n) for n in explanation.policy_notes],
        "overrides": [
            {"index": o.index, "paths": list(o.paths), "matched_by": list(o.matched_by)} for o in explanation.overrides
        ],
        "rules": [_rule_dict(rule) for rule in explanation.rules],
        "waivers": [
            {
                "index": m.index,
                "path": m.waiver.path,
                "rule": m.waiver.rule,
                "reason": m.waiver.reason,
                "expires": m.waiver.expires.isoformat(),
                "status": "expired" if m.expired else "in force",
                "waives_now": m.waives,
                "rule_enforced": m.rule_enforced,
            }
            for m in explanation.waivers
        ],
        "other_findings": [_explained_dict(f) for f in explanation.other_findings],
        "live": None if live is None else {"error": live.error, "values_not_in_file": dict(live.values_not_in_file)},
        "result": {"passes": explanation.errors == 0, "errors": explanation.errors, "waived": explanation.waived},
    }


def _matches_dict(matches: FileMatches) -> dict[str, Any]:
    return {
        "files": list(matches.files),
        "file_count": len(matches.files),
        "matches_every_file": matches.every_file,
        "globs": [{"glob": glob, "file_count": count} for glob, count in matches.per_glob],
    }


def policy_dict(explanation: PolicyExplanation) -> dict[str, Any]:
    """policy.yaml's explanation as JSON data (file lists complete, not capped)."""
    return {
        "kind": "policy",
        "path": explanation.path,
        "today": explanation.today.isoformat(),
        "model_files": explanation.model_files,
        "notes": [finding_dict(n) for n in explanation.notes],
        "rules": dict(explanation.rules),
        "not_enforced": [r for r, info in RULES.items() if info.configurable and r not in explanation.rules],
        "overrides": [
            {"index": o.index, "paths": list(o.paths), "rules": dict(o.rules), **_matches_dict(o.matches)}
            for o in explanation.overrides
        ],
        "waivers": [
            {
                "index": w.index,
                "path": w.waiver.path,
                "rule": w.waiver.rule,
                "reason": w.waiver.reason,
                "expires": w.waiver.expires.isoformat(),
                "status": "expired" if w.expired else "in force",
                **_matches_dict(w.matches),
            }
            for w in explanation.waivers
        ],
        "ignore_unmanaged": [
            {
                "arn": entry.arn,
                "reason": entry.reason,
                "expires": entry.expires.isoformat() if entry.expires else None,
                "status": "expired" if expired else "in force",
            }
            for entry, expired in explanation.ignored
        ],
    }


def explain_json(outcome: ExplainOutcome, style: Style) -> str:
    """JSON report of an explain run: kind model, policy or invalid-policy."""
    payload: dict[str, Any]
    if isinstance(outcome.explanation, ModelExplanation):
        payload = model_dict(outcome.explanation)
    elif isinstance(outcome.explanation, PolicyExplanation):
        payload = policy_dict(outcome.explanation)
    else:
        payload = {"kind": "invalid-policy", "findings": [finding_dict(f) for f in outcome.policy_findings]}
    return json.dumps(payload, indent=2) + "\n"


EXPLAIN_REPORTERS: dict[str, Callable[[ExplainOutcome, Style], str]] = {"text": explain_text, "json": explain_json}
