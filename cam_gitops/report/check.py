"""Reporters: pure functions from results to text, one per output format.

Adding a format is one function and one entry in CHECK_REPORTERS. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from cam_gitops import __version__
from cam_gitops.check.checker import CheckResult
from cam_gitops.findings import Finding, Severity
from cam_gitops.report.escape import (
    github_escape_data,
    github_escape_property,
    json_text,
    lines_text,
    sarif_text,
    terminal,
)

if TYPE_CHECKING:
    from cam_gitops.check.catalog import RuleInfo

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/cam-gitops/cam-gitops#readme"


class Style(NamedTuple):
    """Terminal styling; colour only when the output is a TTY and NO_COLOR is unset."""

    color: bool = False

    def paint(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        """Text in a colour, or unchanged when colour is off."""
        if not self.color:
            return text
        import click

        return click.style(text, fg=fg, bold=bold)

    def severity(self, severity: Severity) -> str:
        """The severity word, red for errors and yellow for warnings."""
        return self.paint(severity.value, "red" if severity is Severity.ERROR else "yellow", bold=True)


def finding_line(finding: Finding, style: Style) -> str:
    """One finding as `path:line:col: severity [rule] message`, every value escaped (terminal)."""
    where = f"{terminal(finding.path)}:{finding.position.line}:{finding.position.column}"
    message = terminal(finding.message)
    return f"{style.paint(where, bold=True)}: {style.severity(finding.severity)} [{terminal(finding.rule)}] {message}"


def check_summary(result: CheckResult) -> str:
    """One line saying how many files were checked and what was found."""
    files = f"{result.files_checked} file{'s' if result.files_checked != 1 else ''}"
    waived = f" ({result.waived} waived)" if result.waived else ""
    if not result.findings:
        return f"checked {files}: no problems{waived}"
    parts = [f"{result.errors} error{'s' if result.errors != 1 else ''}"]
    if result.warnings:
        parts.append(f"{result.warnings} warning{'s' if result.warnings != 1 else ''}")
    return f"checked {files}: {', '.join(parts)}{waived}"


def check_text(result: CheckResult, style: Style) -> str:
    """Text report: one line per finding, then the summary."""
    lines = [finding_line(f, style) for f in result.findings]
    lines.append(check_summary(result))
    return lines_text(lines)


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A finding as the JSON report shows it."""
    return {
        "path": finding.path,
        "line": finding.position.line,
        "column": finding.position.column,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
    }


def check_json(result: CheckResult, style: Style) -> str:
    """JSON report: {"files_checked": N, "violations": [...]}."""
    payload = {"files_checked": result.files_checked, "violations": [finding_dict(f) for f in result.findings]}
    return json_text(payload)


def sarif_report(
    findings: list[Finding],
    extra_rules: Mapping[str, RuleInfo] | None = None,
    suppressed: Sequence[Finding] = (),
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run, a rule entry per known rule id and a result per finding.

    extra_rules documents rule ids beyond RULES (the plan's, for instance). suppressed findings
    (covered by a waiver in policy.yaml) are results too, with a `suppressions` entry, so code
    scanning shows them as dismissed instead of never knowing them.
    """
    from cam_gitops.check.catalog import RULES  # SARIF only: not on the hook's start-up path

    known = {**RULES, **(extra_rules or {})}
    rule_ids = sorted(set(known) | {f.rule for f in [*findings, *suppressed]})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = [_sarif_rule(rule_id, known.get(rule_id)) for rule_id in rule_ids]
    results = [_sarif_result(f, index) for f in findings]
    for finding in suppressed:
        result = _sarif_result(finding, index)
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": "waived in policy.yaml (see its waivers)"}
        ]
        results.append(result)
    run = {
        "tool": {
            "driver": {
                "name": "cam-gitops",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _sarif_result(finding: Finding, index: Mapping[str, int]) -> dict[str, Any]:
    return {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": finding.severity.value,
        "message": {"text": sarif_text(finding.message)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": sarif_uri(finding.path), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": finding.position.line, "startColumn": finding.position.column},
                }
            }
        ],
    }


def sarif_uri(path: str) -> str:
    """A repository-relative path as the URI reference SARIF requires (spaces, `#`, `%`, controls
    percent-encoded). A file name that is not UTF-8 on disk (Python's surrogate escapes) is
    encoded as its bytes; any other lone surrogate, which no file name can hold, as its escape."""
    try:
        return quote(path, safe="/", errors="surrogateescape")
    except UnicodeEncodeError:
        return quote(path, safe="/", errors="backslashreplace")


def _sarif_rule(rule_id: str, info: RuleInfo | None) -> dict[str, Any]:
    summary = info.summary if info else rule_id
    help_text = info.help if info else summary
    if info and info.configurable:
        help_text = f"Enable in policy.yaml under rules, e.g. {info.help}"
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": summary},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": "error"},
    }


def check_sarif(result: CheckResult, style: Style) -> str:
    """SARIF report of a check; waived findings are suppressed results."""
    return json_text(sarif_report(result.findings, suppressed=result.waived_findings))


def github_annotation(finding: Finding) -> str:
    """A finding as a `::error file=...,line=...,col=...,title=...::message` workflow command.

    Every value is escaped for a terminal first (no control character, no `##[`), then for the
    runner: the line is exactly one well-formed command whatever the path or message hold.
    """
    command = "error" if finding.severity is Severity.ERROR else "warning"
    props = ",".join(
        (
            f"file={github_escape_property(terminal(finding.path))}",
            f"line={finding.position.line}",
            f"col={finding.position.column}",
            f"title={github_escape_property(terminal('cam-gitops [' + finding.rule + ']'))}",
        )
    )
    return f"::{command} {props}::{github_escape_data(terminal(finding.message))}"


def check_github(result: CheckResult, style: Style) -> str:
    """GitHub workflow commands, one per finding, then the plain summary."""
    annotations = "".join(github_annotation(f) + "\n" for f in result.findings)
    return annotations + lines_text([check_summary(result)])


CheckReporter = Callable[[CheckResult, Style], str]

CHECK_REPORTERS: dict[str, CheckReporter] = {
    "text": check_text,
    "json": check_json,
    "sarif": check_sarif,
    "github": check_github,
}
