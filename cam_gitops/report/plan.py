"""Reporters for plan and drift results: text, JSON, Markdown, GitHub, SARIF.

Pure functions from results to text, picked from PLAN_REPORTERS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cam_gitops.check.catalog import RuleInfo
from cam_gitops.check.checker import CheckResult
from cam_gitops.check.policydiff import PolicyDiff
from cam_gitops.findings import Finding, Position, Severity
from cam_gitops.live.plan import (
    CANNOT_UNSET,
    ERROR,
    IGNORED,
    NO_OP,
    REFUSED,
    UNMANAGED,
    UPDATE,
    Change,
    FieldChange,
    summarize,
)
from cam_gitops.report.check import Style, github_annotation, sarif_report
from cam_gitops.report.escape import (
    capped,
    html_code,
    json_text,
    lines_text,
    log_text,
    md_code,
    md_inline,
    terminal,
)
from cam_gitops.report.policy import policy_dict, policy_findings, policy_markdown, policy_text

PATCH_NOTE = (
    "Fields a file leaves out keep their live value: UpdateConfiguredAudienceModel is a PATCH and cannot unset a field."
)
MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
MARKDOWN_MARKER = "<!-- cam-gitops-plan -->"
MARKDOWN_FINDINGS = 100  # a PR comment has a size limit; the full list is one command away
NOTE_FINDINGS = 20  # policy findings listed per model in text and Markdown; JSON and SARIF carry all
MESSAGE_FIELDS = 10  # field names listed in one message line before "and N more"

_SYMBOLS = {UPDATE: "~", NO_OP: "=", ERROR: "!", CANNOT_UNSET: "!", REFUSED: "!", UNMANAGED: "?", IGNORED: "-"}
_COLORS = {UPDATE: "yellow", NO_OP: None, ERROR: "red", CANNOT_UNSET: "red", REFUSED: "red", UNMANAGED: "cyan"}


def value_text(value: Any) -> str:
    """A value as plan output shows it: JSON, `(unset)` for an absent one (not yet escaped)."""
    if value is None:
        return "(unset)"
    return json.dumps(value, ensure_ascii=False)


def short_arn(arn: str) -> str:
    """The resource part of an ARN with its region, e.g. us-east-1 configured-audience-model/ab12."""
    parts = arn.split(":", 5)
    return f"{parts[3]} {parts[5]}" if len(parts) == 6 else arn


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def summary_parts(changes: Sequence[Change]) -> list[str]:
    """`2 to update, 3 unchanged, 1 error` and the counts that are not zero."""
    summary = summarize(changes)
    parts = [f"{summary.update} to update", f"{summary.no_op} unchanged", _plural(summary.errors, "error")]
    for count, word in (
        (summary.refused, "refused"),
        (summary.retarget, "retarget"),
        (summary.unmanaged, "unmanaged"),
        (summary.ignored, "ignored"),
    ):
        if count:
            parts.append(f"{count} {word}")
    return parts


def plan_summary_line(changes: Sequence[Change], title: str = "Plan") -> str:
    """`Plan: 2 to update, 3 unchanged, 1 error, 1 unmanaged.`"""
    return f"{title}: " + ", ".join(summary_parts(changes)) + "."


def _label(change: Change) -> str:
    return change.path or "(no file)"


def notes(change: Change, show: Callable[[str], str] = terminal) -> list[str]:
    """What a reviewer must see besides the field diff, one line each.

    show escapes each value for the medium (terminal for text, md_inline for Markdown); the
    words around the values are ours. At most NOTE_FINDINGS policy findings of each kind.
    """
    lines = []
    if change.retarget_from:
        lines.append(
            f"retarget: this file managed {show(change.retarget_from)} and now manages {show(change.arn)}; "
            "the old model is no longer managed by any file"
        )
    if change.moved_from:
        lines.append(f"moved from {show(change.moved_from)}")
    lines += [
        f"policy for this file changed by the move: {show(m.rule)} "
        f"{show(value_text(m.before))} -> {show(value_text(m.after))}"
        for m in change.policy_moves
    ]
    for word, findings in (("policy", change.violations), ("waived", change.waived)):
        lines += [f"{word}: [{show(f.rule)}] {show(f.message)}" for f in findings[:NOTE_FINDINGS]]
        if len(findings) > NOTE_FINDINGS:
            lines.append(f"{word}: ... and {len(findings) - NOTE_FINDINGS} more (`--format json` lists them all)")
    return lines


def plan_text(changes: Sequence[Change], style: Style, title: str = "Plan", policy: PolicyDiff | None = None) -> str:
    """Plan as text: one block per model, field diffs indented, summary last; values escaped (terminal)."""
    lines: list[str] = policy_text(policy)
    for change in changes:
        model = terminal(short_arn(change.arn))
        head = f"{_SYMBOLS[change.action]} {terminal(_label(change))}  [{model}]  {change.action}"
        lines.append(style.paint(head, _COLORS.get(change.action), bold=change.action not in (NO_OP, IGNORED)))
        lines.extend(
            f"    {terminal(d.field)}: {terminal(value_text(d.before))} -> {terminal(value_text(d.after))}"
            for d in change.diff
        )
        if change.error:
            lines.append(f"    {terminal(change.error)}")
        lines.extend(f"    {line}" for line in notes(change))
        if change.live_only:
            lines.append("    not in the file, live value kept:")
            lines.extend(f"      {terminal(field)}: {terminal(value_text(value))}" for field, value in change.live_only)
    if not changes:
        lines.append("No model files selected.")
    lines.append("")
    lines.append(plan_summary_line(changes, title.removeprefix("cam-gitops ").capitalize()))
    if any(c.live_only or c.action == CANNOT_UNSET for c in changes):
        lines.append(PATCH_NOTE)
    return lines_text(lines)


def diff_dict(diff: Sequence[FieldChange]) -> dict[str, dict[str, Any]]:
    """Field diffs as {"field.path": {"from": ..., "to": ...}}."""
    return {d.field: {"from": d.before, "to": d.after} for d in diff}


def change_dict(change: Change) -> dict[str, Any]:
    """One change as the JSON plan shows it."""
    from cam_gitops.report.check import finding_dict

    return {
        "path": change.path or None,
        "arn": change.arn,
        "action": change.action,
        "diff": diff_dict(change.diff),
        "error": change.error,
        "fields_not_in_file": list(change.unmanaged_fields),
        "live_values_not_in_file": dict(change.live_only),
        "violations": [finding_dict(f) for f in change.violations],
        "waived": [finding_dict(f) for f in change.waived],
        "retarget": {"from": change.retarget_from, "to": change.arn} if change.retarget_from else None,
        "moved_from": change.moved_from,
        "policy_changes": [{"rule": m.rule, "from": m.before, "to": m.after} for m in change.policy_moves],
    }


def plan_json(
    changes: Sequence[Change], style: Style, title: str = "cam-gitops plan", policy: PolicyDiff | None = None
) -> str:
    """Plan as {"changes": [...], "summary": {...}}: values as they are, written by json_text."""
    summary = summarize(changes)
    payload = {
        "changes": [change_dict(c) for c in changes],
        "summary": {
            "update": summary.update,
            "no_op": summary.no_op,
            "errors": summary.errors,
            "refused": summary.refused,
            "retarget": summary.retarget,
            "unmanaged": summary.unmanaged,
            "ignored": summary.ignored,
        },
        "policy": policy_dict(policy),
    }
    return json_text(payload)


def _md_cell(text: str) -> str:
    """An untrusted text in a Markdown table cell: a code span, `|` escaped."""
    return md_code(text, table=True)


def _md_value(value: Any) -> str:
    return _md_cell(value_text(value))


MARKDOWN_TABLE_ROWS = 200  # rows of the summary table before "... and N more"
_MARKDOWN_TABLE_BUDGET = MARKDOWN_LIMIT // 2  # characters of summary + table, whatever the paths' length
FULL_PLAN_HINT = "see the full plan artifact (`--format json`)"
_ICONS = {
    UPDATE: ":pencil2:",
    NO_OP: ":white_check_mark:",
    ERROR: ":x:",
    CANNOT_UNSET: ":x:",
    REFUSED: ":no_entry:",
    UNMANAGED: ":grey_question:",
    IGNORED: ":heavy_minus_sign:",
}


def plan_markdown(
    changes: Sequence[Change], style: Style, title: str = "cam-gitops plan", policy: PolicyDiff | None = None
) -> str:
    """Plan as a compact PR comment: summary, table, and per-model details folded away.

    Always under MARKDOWN_LIMIT characters: beyond MARKDOWN_TABLE_ROWS rows the table says how
    many more there are, and details that do not fit are left to the full plan artifact.
    """
    out = [MARKDOWN_MARKER, f"### {title}", "", "**" + ", ".join(summary_parts(changes)) + "**", ""]
    out += policy_markdown(policy)
    if changes:
        out += ["| | model file | model | action |", "|---|---|---|---|"]
        size = sum(len(line) + 1 for line in out)
        shown = 0
        for c in changes:
            action = c.action + (" (retarget)" if c.retarget_from else "")
            row = f"| {_ICONS[c.action]} | {_md_cell(_label(c))} | {_md_cell(short_arn(c.arn))} | {action} |"
            if shown >= MARKDOWN_TABLE_ROWS or size + len(row) + 1 > _MARKDOWN_TABLE_BUDGET:
                break
            out.append(row)
            size += len(row) + 1
            shown += 1
        if shown < len(changes):
            out += ["", f"... and {len(changes) - shown} more; {FULL_PLAN_HINT}"]
    body = "\n".join(out)
    footer = f"\n<sub>{PATCH_NOTE}</sub>\n"
    budget = MARKDOWN_LIMIT - len(body) - len(footer) - 200  # room for the "left out" note
    details: list[str] = []
    left_out = 0
    for c in changes:
        if not (c.diff or c.error or c.live_only or notes(c)):
            continue
        block = _md_details(c)
        if left_out or len(block) + 1 > budget:
            left_out += 1
            continue
        details.append(block)
        budget -= len(block) + 1
    if left_out:
        details.append(
            f"\n_Details of {left_out} more model{'s' if left_out != 1 else ''} are too long for a "
            f"comment: {FULL_PLAN_HINT}._\n"
        )
    folded = "\n".join(details)
    return log_text(body + "\n" + (folded + "\n" if folded else "") + footer)


def _md_details(change: Change) -> str:
    # The summary line is raw HTML (html_code); everything else from a file or AWS is a code span.
    lines = ["", f"<details><summary>{html_code(_label(change))}: {change.action}</summary>", ""]
    if change.diff:
        lines += ["| field | live | file |", "|---|---|---|"]
        lines += [f"| {_md_cell(d.field)} | {_md_value(d.before)} | {_md_value(d.after)} |" for d in change.diff]
    if change.error:
        lines += ["", f"> {md_code(change.error)}"]
    extra = notes(change, md_inline)
    if extra:
        lines += [""] + [f"- {line}" for line in extra]
    if change.live_only:
        lines += ["", "Not in the file (the live value stays):", "", "| field | live value |", "|---|---|"]
        lines += [f"| {_md_cell(field)} | {_md_value(value)} |" for field, value in change.live_only]
    lines += ["", "</details>"]
    return "\n".join(lines)


def check_failed_markdown(result: CheckResult, action: str) -> str:
    """The PR comment when check failed before any AWS call."""
    from cam_gitops.report.check import check_summary, finding_line

    lines = [
        MARKDOWN_MARKER,
        "### cam-gitops plan",
        "",
        f"**{action} stopped: `cam-gitops check` failed** ({check_summary(result)})",
        "",
    ]
    shown = result.findings[:MARKDOWN_FINDINGS]
    lines += [f"- {md_code(finding_line(f, Style()))}" for f in shown]
    if len(result.findings) > len(shown):
        lines.append(f"- ... and {len(result.findings) - len(shown)} more: run `cam-gitops check` locally")
    return lines_text(lines)


PLAN_RULES: dict[str, RuleInfo] = {
    info.rule_id: info
    for info in (
        RuleInfo(
            "plan-update",
            "Applying this file would update the live model.",
            "Review the field changes; merging applies them.",
            False,
        ),
        RuleInfo(
            "plan-error",
            "The live model could not be read (not found, access denied, ...).",
            "Check the ARN, the region and the plan role's permissions.",
            False,
        ),
        RuleInfo(
            "plan-cannot-unset",
            "A field was removed from the file, but the PATCH API cannot unset it.",
            "Put the field back with the value you want.",
            False,
        ),
        RuleInfo(
            "plan-unmanaged",
            "A live model no file manages, or whose file was deleted.",
            "Import it with `cam-gitops import`, or delete it in AWS if intended.",
            False,
        ),
        RuleInfo(
            "plan-policy-loosened",
            "policy.yaml changed in a way that may admit models the base policy refused.",
            "Have privacy review approve the change, or revert it.",
            False,
        ),
        RuleInfo(
            "plan-retarget",
            "A file's configuredAudienceModelArn changed: it now manages another model.",
            "Check the new ARN; the old model is no longer managed by any file.",
            False,
        ),
    )
}


def change_findings(changes: Sequence[Change]) -> list[Finding]:
    """Plan results as findings on the model files, for annotations and code scanning."""
    findings = []
    for c in changes:
        if c.action in (ERROR, CANNOT_UNSET):
            findings.append(Finding(_label(c), Position(1, 1), f"plan-{c.action}", Severity.ERROR, c.error or c.action))
        elif c.action == UPDATE:
            fields = capped([d.field for d in c.diff], MESSAGE_FIELDS)
            findings.append(Finding(c.path, Position(1, 1), "plan-update", Severity.WARNING, f"would update {fields}"))
        elif c.action == UNMANAGED:
            findings.append(Finding(_label(c), Position(1, 1), "plan-unmanaged", Severity.WARNING, c.error or ""))
        if c.retarget_from:
            message = f"now manages {c.arn} instead of {c.retarget_from}"
            findings.append(Finding(c.path, Position(1, 1), "plan-retarget", Severity.WARNING, message))
        findings.extend(c.violations)
    return findings


def plan_github(
    changes: Sequence[Change], style: Style, title: str = "cam-gitops plan", policy: PolicyDiff | None = None
) -> str:
    """Plan as GitHub workflow annotations, then the summary line."""
    findings = [*policy_findings(policy), *change_findings(changes)]
    annotations = "".join(github_annotation(f) + "\n" for f in findings)
    return annotations + lines_text([plan_summary_line(changes)])


def plan_sarif(
    changes: Sequence[Change], style: Style, title: str = "cam-gitops plan", policy: PolicyDiff | None = None
) -> str:
    """Plan errors, pending updates and policy loosening as SARIF results; waived findings as
    suppressed results."""
    waived = [f for c in changes for f in c.waived]
    findings = [*policy_findings(policy), *change_findings(changes)]
    return json_text(sarif_report(findings, PLAN_RULES, suppressed=waived))


class PlanReporter(Protocol):
    """A plan reporter: changes and style in, text out; title names the run (plan or drift)."""

    def __call__(
        self, changes: Sequence[Change], style: Style, title: str = ..., policy: PolicyDiff | None = ...
    ) -> str: ...


PLAN_REPORTERS: dict[str, PlanReporter] = {
    "text": plan_text,
    "json": plan_json,
    "markdown": plan_markdown,
    "github": plan_github,
    "sarif": plan_sarif,
}
