"""The Policy section of a plan: what a change to policy.yaml does, for review.

Rendered when the plan's base revision has another policy.yaml (`plan --changed-since`).
Loosening is marked in every medium, because it is what privacy reviewers must not miss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cam_gitops.check.policydiff import CHANGED, LOOSER, EntryDelta, PolicyDiff, RuleDelta
from cam_gitops.findings import Finding, Position, Severity
from cam_gitops.report.escape import md_code, md_inline, terminal

_MARKS = {LOOSER: "LOOSER", CHANGED: "CHANGED (may loosen: review)", "tighter": "tighter"}
_MD_MARKS = {LOOSER: ":warning: **looser**", CHANGED: ":warning: **changed, may loosen**", "tighter": "tighter"}


def _value(value: Any) -> str:
    import json

    return "(not set)" if value is None else json.dumps(value, ensure_ascii=False)


def _rule_line(delta: RuleDelta, show: Callable[[str], str], marks: dict[str, str]) -> str:
    where = "" if delta.scope == "rules" else f" in {show(delta.scope)}"
    return (
        f"{marks[delta.direction]}: {show(delta.rule)}{where}: "
        f"{show(_value(delta.before))} -> {show(_value(delta.after))}"
    )


def _entry_line(entry: EntryDelta, show: Callable[[str], str], marks: dict[str, str]) -> str:
    what = f"{entry.kind} {entry.change}: {show(entry.target)}"
    if entry.rule:
        what += f" ({show(entry.rule)})"
    expiry = f", expires {show(entry.expires)}" if entry.expires else ""
    return f"{marks[entry.direction]}: {what}, reason {show(entry.reason)}{expiry}"


def _lines(diff: PolicyDiff, show: Callable[[str], str], marks: dict[str, str]) -> list[str]:
    lines = [_rule_line(d, show, marks) for d in diff.rules]
    lines += [
        f"{marks[LOOSER if change == 'added' else 'tighter']}: override {change}: {show(paths)}"
        for change, paths in diff.overrides
    ]
    lines += [_entry_line(e, show, marks) for e in diff.entries]
    return lines


def policy_text(diff: PolicyDiff | None) -> list[str]:
    """The Policy section as text lines (empty when the policy did not change)."""
    if diff is None or diff.empty:
        return []
    head = f"Policy: {terminal(diff.path)} changed" + (" and LOOSENS the gate: review it" if diff.loosened else "")
    return [head, *(f"    {line}" for line in _lines(diff, terminal, _MARKS)), ""]


def policy_markdown(diff: PolicyDiff | None) -> list[str]:
    """The Policy section as Markdown lines (empty when the policy did not change)."""
    if diff is None or diff.empty:
        return []
    head = f"#### Policy: {md_code(diff.path)} changed"
    out = [head, ""]
    if diff.loosened:
        out += ["> [!WARNING]", "> This change **loosens** the policy: privacy review must approve it.", ""]
    out += [f"- {line}" for line in _lines(diff, md_inline, _MD_MARKS)]
    return [*out, ""]


def policy_dict(diff: PolicyDiff | None) -> dict[str, Any] | None:
    """The Policy section for the JSON plan; None when the policy did not change."""
    if diff is None:
        return None
    return {
        "loosened": diff.loosened,
        "rules": [
            {"scope": d.scope, "rule": d.rule, "from": d.before, "to": d.after, "direction": d.direction}
            for d in diff.rules
        ],
        "overrides": [{"change": change, "paths": paths} for change, paths in diff.overrides],
        "entries": [
            {
                "kind": e.kind,
                "change": e.change,
                "target": e.target,
                "rule": e.rule,
                "reason": e.reason,
                "expires": e.expires,
                "direction": e.direction,
            }
            for e in diff.entries
        ],
    }


def policy_findings(diff: PolicyDiff | None) -> list[Finding]:
    """Each loosening as a warning on the policy file, for annotations and code scanning."""
    if diff is None:
        return []
    lines = [line for line in _lines(diff, terminal, _MARKS) if line.startswith((_MARKS[LOOSER], _MARKS[CHANGED]))]
    return [Finding(diff.path, Position(1, 1), "plan-policy-loosened", Severity.WARNING, line) for line in lines]
