"""Reporters for plan, drift and apply results: text, JSON, Markdown, GitHub, SARIF.

Pure functions from results to text, picked from PLAN_REPORTERS / APPLY_REPORTERS.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from cam_gitops.check.rules import RuleInfo
from cam_gitops.findings import Finding, Position, Severity
from cam_gitops.live.apply import ApplyResult
from cam_gitops.live.plan import CANNOT_UNSET, ERROR, NO_OP, UNMANAGED, UPDATE, Change, FieldChange, summarize
from cam_gitops.report.check import Style, github_annotation, sarif_report

PATCH_NOTE = (
    "Fields a file leaves out keep their live value: UpdateConfiguredAudienceModel is a PATCH and cannot unset a field."
)
MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
MARKDOWN_MARKER = "<!-- cam-gitops-plan -->"

_SYMBOLS = {UPDATE: "~", NO_OP: "=", ERROR: "!", CANNOT_UNSET: "!", UNMANAGED: "?"}


def value_text(value: Any) -> str:
    """A value as plan output shows it: JSON, `(unset)` for an absent one."""
    if value is None:
        return "(unset)"
    return json.dumps(value, ensure_ascii=False)


def short_arn(arn: str) -> str:
    """The resource part of an ARN with its region, e.g. us-east-1 configured-audience-model/ab12."""
    parts = arn.split(":", 5)
    return f"{parts[3]} {parts[5]}" if len(parts) == 6 else arn


def plan_summary_line(changes: Sequence[Change]) -> str:
    """`Plan: 2 to update, 3 unchanged, 1 error, 1 unmanaged.`"""
    summary = summarize(changes)
    parts = [
        f"{summary.update} to update",
        f"{summary.no_op} unchanged",
        f"{summary.errors} error{'s' if summary.errors != 1 else ''}",
    ]
    if summary.unmanaged:
        parts.append(f"{summary.unmanaged} unmanaged")
    return "Plan: " + ", ".join(parts) + "."


def _label(change: Change) -> str:
    return change.path or "(no file)"


def plan_text(changes: Sequence[Change], style: Style) -> str:
    """Plan as text: one block per model, field diffs indented, summary last."""
    lines: list[str] = []
    colors = {UPDATE: "yellow", NO_OP: None, ERROR: "red", CANNOT_UNSET: "red", UNMANAGED: "cyan"}
    for change in changes:
        head = f"{_SYMBOLS[change.action]} {_label(change)}  [{short_arn(change.arn)}]  {change.action}"
        lines.append(style.paint(head, colors[change.action], bold=change.action != NO_OP))
        lines.extend(f"    {d.field}: {value_text(d.before)} -> {value_text(d.after)}" for d in change.diff)
        if change.error:
            lines.append(f"    {change.error}")
        if change.unmanaged_fields and change.action in (UPDATE, NO_OP):
            lines.append(f"    not in file, left as is: {', '.join(change.unmanaged_fields)}")
    if not changes:
        lines.append("No model files selected.")
    lines.append("")
    lines.append(plan_summary_line(changes))
    if any(c.unmanaged_fields or c.action == CANNOT_UNSET for c in changes):
        lines.append(PATCH_NOTE)
    return "\n".join(lines) + "\n"


def diff_dict(diff: Sequence[FieldChange]) -> dict[str, dict[str, Any]]:
    """Field diffs as {"field.path": {"from": ..., "to": ...}}."""
    return {d.field: {"from": d.before, "to": d.after} for d in diff}


def plan_json(changes: Sequence[Change], style: Style) -> str:
    """Plan as {"changes": [{"path", "arn", "action", "diff", "error"}], "summary": {...}}."""
    summary = summarize(changes)
    payload = {
        "changes": [
            {
                "path": c.path or None,
                "arn": c.arn,
                "action": c.action,
                "diff": diff_dict(c.diff),
                "error": c.error,
                "fields_not_in_file": list(c.unmanaged_fields),
            }
            for c in changes
        ],
        "summary": {
            "update": summary.update,
            "no_op": summary.no_op,
            "errors": summary.errors,
            "unmanaged": summary.unmanaged,
        },
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_value(value: Any) -> str:
    # A `|` splits a GitHub table cell even inside a code span: escape it there too.
    return "`" + _md_cell(value_text(value).replace("`", "'")) + "`"


MARKDOWN_TABLE_ROWS = 200  # rows of the summary table before "... and N more"
_MARKDOWN_TABLE_BUDGET = MARKDOWN_LIMIT // 2  # characters of summary + table, whatever the paths' length
FULL_PLAN_HINT = "see the full plan artifact (`--format json`)"


def plan_markdown(changes: Sequence[Change], style: Style, title: str = "cam-gitops plan") -> str:
    """Plan as a compact PR comment: summary, table, and per-model diffs folded away.

    Always under MARKDOWN_LIMIT characters: beyond MARKDOWN_TABLE_ROWS rows the table says how
    many more there are, and details that do not fit are left to the full plan artifact.
    """
    summary = summarize(changes)
    out = [MARKDOWN_MARKER, f"### {title}", ""]
    out.append(
        f"**{summary.update} to update, {summary.no_op} unchanged, {summary.errors} "
        f"error{'s' if summary.errors != 1 else ''}**"
        + (f", {summary.unmanaged} unmanaged" if summary.unmanaged else "")
    )
    out.append("")
    if changes:
        out += ["| | model file | model | action |", "|---|---|---|---|"]
        icons = {
            UPDATE: ":pencil2:",
            NO_OP: ":white_check_mark:",
            ERROR: ":x:",
            CANNOT_UNSET: ":x:",
            UNMANAGED: ":grey_question:",
        }
        size = sum(len(line) + 1 for line in out)
        shown = 0
        for c in changes:
            row = f"| {icons[c.action]} | `{_md_cell(_label(c))}` | `{_md_cell(short_arn(c.arn))}` | {c.action} |"
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
        if not (c.diff or c.error):
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
    return body + "\n" + (folded + "\n" if folded else "") + footer


def _md_details(change: Change) -> str:
    label = html.escape(_label(change), quote=False)
    lines = ["", f"<details><summary><code>{label}</code>: {change.action}</summary>", ""]
    if change.diff:
        lines += ["| field | live | file |", "|---|---|---|"]
        lines += [f"| `{_md_cell(d.field)}` | {_md_value(d.before)} | {_md_value(d.after)} |" for d in change.diff]
    if change.error:
        lines += ([""] if change.diff else []) + [f"> {_md_cell(change.error)}"]
    lines += ["", "</details>"]
    return "\n".join(lines)


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
    )
}


def change_findings(changes: Sequence[Change]) -> list[Finding]:
    """Plan results as findings on the model files, for annotations and code scanning."""
    findings = []
    for c in changes:
        if c.action in (ERROR, CANNOT_UNSET):
            findings.append(Finding(_label(c), Position(1, 1), f"plan-{c.action}", Severity.ERROR, c.error or c.action))
        elif c.action == UPDATE:
            fields = ", ".join(d.field for d in c.diff)
            findings.append(Finding(c.path, Position(1, 1), "plan-update", Severity.WARNING, f"would update {fields}"))
        elif c.action == UNMANAGED:
            findings.append(Finding(_label(c), Position(1, 1), "plan-unmanaged", Severity.WARNING, c.error or ""))
    return findings


def plan_github(changes: Sequence[Change], style: Style) -> str:
    """Plan as GitHub workflow annotations, then the summary line."""
    lines = [github_annotation(f) for f in change_findings(changes)]
    return "\n".join([*lines, plan_summary_line(changes)]) + "\n"


def plan_sarif(changes: Sequence[Change], style: Style) -> str:
    """Plan errors and pending updates as SARIF results."""
    return json.dumps(sarif_report(change_findings(changes), PLAN_RULES), indent=2) + "\n"


PlanReporter = Callable[[Sequence[Change], Style], str]

PLAN_REPORTERS: dict[str, PlanReporter] = {
    "text": plan_text,
    "json": plan_json,
    "markdown": plan_markdown,
    "github": plan_github,
    "sarif": plan_sarif,
}


# --- apply ------------------------------------------------------------------------------------


def apply_line(result: ApplyResult) -> str:
    """One model's outcome, as progress lines and the table show it."""
    detail = result.error or ", ".join(d.field for d in result.diff)
    return f"{result.path or '(no file)'}: {result.result}" + (f" ({detail})" if detail else "")


def apply_text(results: Sequence[ApplyResult], style: Style) -> str:
    """A per-model table and a summary line."""
    width = max([len(r.path) for r in results] + [10])
    lines = [f"{'model file':<{width}}  {'result':<12}  detail", f"{'-' * width}  {'-' * 12}  ------"]
    colors = {"applied": "green", "failed": "red", "refused": "red", "no-op": None}
    for r in results:
        detail = r.error or ", ".join(d.field for d in r.diff)
        painted = style.paint(f"{r.result:<12}", colors.get(r.result))
        lines.append(f"{r.path or '(no file)':<{width}}  {painted}  {detail}".rstrip())
    lines.append("")
    lines.append(apply_summary_line(results))
    return "\n".join(lines) + "\n"


def apply_summary_line(results: Sequence[ApplyResult]) -> str:
    """`Apply: 2 applied, 3 unchanged, 1 failed.`"""
    counts = Counter(r.result for r in results)
    order = ["applied", "would-update", "no-op", "unmanaged", "refused", "failed"]
    names = {"no-op": "unchanged"}
    parts = [f"{counts[k]} {names.get(k, k)}" for k in order if counts.get(k)]
    return "Apply: " + (", ".join(parts) if parts else "nothing to do") + "."


def apply_json(results: Sequence[ApplyResult], style: Style) -> str:
    """The per-model JSON report: {"results": [...], "summary": {...}}."""
    counts = dict(Counter(r.result for r in results))
    payload = {
        "results": [
            {
                "path": r.path or None,
                "arn": r.arn,
                "result": r.result,
                "diff": diff_dict(r.diff),
                "error": r.error,
                "attempts": r.attempts,
            }
            for r in results
        ],
        "summary": counts,
        "failed": any(r.failed for r in results),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


ApplyReporter = Callable[[Sequence[ApplyResult], Style], str]

APPLY_REPORTERS: dict[str, ApplyReporter] = {"text": apply_text, "json": apply_json}
