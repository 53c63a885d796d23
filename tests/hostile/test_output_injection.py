"""Output injection: the same hostile strings through every reporter and every format.

A value from a model file, the policy or AWS (a path, a key, an ARN, a live value, an AWS error
message) must never, in any output:
- write a raw control or invisible character (ANSI/CSI sequences, CR, BS, bidi overrides, ...)
  to a terminal, a CI log or a --output file;
- make the GitHub Actions runner read a workflow command it was not meant to (`::error::`
  starting a line, `##[...]` anywhere), or break one of ours;
- render in a PR or issue comment as HTML, an image, a link or an @mention, or add a column to
  a table;
- be dropped: it is shown, escaped.

Markdown is rendered with cmarkgfm (GitHub's cmark-gfm with its GFM extensions), raw HTML kept
as it is (stricter than GitHub's sanitiser).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from jsonschema.validators import validator_for

from cam_gitops.check.checker import CheckResult
from cam_gitops.findings import Finding, Position, Severity
from cam_gitops.live.apply import APPLIED, FAILED, ApplyResult
from cam_gitops.live.importer import FAILED as IMPORT_FAILED
from cam_gitops.live.importer import MANAGED, WRITTEN, ImportOutcome, ImportResult, report_lines
from cam_gitops.live.plan import ERROR, IGNORED, UNMANAGED, UPDATE, Change, FieldChange, RuleMove
from cam_gitops.report.apply import apply_json, apply_line, apply_text
from cam_gitops.report.check import Style, check_github, check_json, check_sarif, check_text
from cam_gitops.report.escape import md_code, sarif_text, terminal
from cam_gitops.report.plan import (
    MARKDOWN_LIMIT,
    change_findings,
    check_failed_markdown,
    plan_github,
    plan_json,
    plan_markdown,
    plan_sarif,
    plan_text,
)

LONG = "L" * 10_000
HOSTILE: dict[str, str] = {
    "backticks": "a`b``c```d",
    "backtick-edges": "`x`",
    "newline-command": "x\n::error::pwned",
    "cr-command": "x\r::notice title=t::pwned",
    "leading-command": "::error::pwned",
    "spaced-command": "  ::warning::pwned",
    "legacy-command": "x##[error]pwned",
    "stop-commands": "##[stop-commands]token",
    "ansi": "\x1b[31mred\x1b[0m\x1b]0;title\x07",
    "c1-csi": "\x9b31mred\x85next",
    "controls": "a\x08\x7f\x00\tb",
    "html": "<img src=x onerror=alert(1)>",
    "html-close": "</code></details><script>alert(1)</script>",
    "mention": "@org/team and @someone",
    "link": "[x](https://evil.example)",
    "image": "![x](https://evil.example/p.png)",
    "autolink": "https://evil.example www.evil.example a@evil.example",
    "pipes": "a|b\\|c\\",
    "bidi": "abc\u202edcba\u2066x\u2069\u200f",
    "invisible": "a\u200bb\ufeffc\u2028d\u2029e\u00a0f",
    "tag-characters": "x\U000e0041\U000e007f",
    "lone-surrogate": "x\ud800y",
    "emoji-and-refs": ":x: #123 org/repo#1 ${{ secrets.X }}",
    "long": LONG,
}
IDS = sorted(HOSTILE)
MARK = "({})"  # every builder puts some value inside this, so its presence can be asserted


# --- what the GitHub Actions runner and a terminal would see -----------------------------------


def runner_commands(text: str) -> list[str]:
    """Lines the Actions runner would process as workflow commands: `::` at the start after
    leading whitespace (its TrimStart), or the legacy `##[` anywhere in the line."""
    return [line for line in re.split(r"\r\n|\r|\n", text) if line.lstrip().startswith("::") or "##[" in line]


def assert_log_safe(text: str, commands: int = 0) -> list[str]:
    """No raw control or invisible character; exactly `commands` workflow commands, all ours."""
    text.encode("utf-8")  # no lone surrogate: the output can be written at all
    raw = sorted({f"U+{ord(ch):04X}" for ch in text if not ch.isprintable() and ch != "\n"})
    assert not raw, f"raw control or invisible characters in the output: {raw}"
    found = runner_commands(text)
    assert len(found) == commands, f"workflow commands the reporter did not mean: {found[:3]}"
    for line in found:
        assert_well_formed_annotation(line)
    return found


_ANNOTATION = re.compile(r"::(error|warning) file=([^,:]*),line=(\d+),col=(\d+),title=([^,:]*)::(.*)\Z")


def assert_well_formed_annotation(line: str) -> dict[str, str]:
    """One of our annotations, parsed as the runner does; its properties and data decoded."""
    match = _ANNOTATION.match(line)
    assert match, f"not a well-formed annotation: {line[:200]!r}"
    assert "##[" not in line
    return {"file": _unescape_property(match[2]), "title": _unescape_property(match[5]), "data": _unescape(match[6])}


def _unescape(data: str) -> str:
    return data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(value: str) -> str:
    return _unescape(value.replace("%3A", ":").replace("%2C", ","))


# --- what GitHub would render ------------------------------------------------------------------

_EXTENSIONS = ["table", "autolink", "strikethrough", "tagfilter", "tasklist"]
_ALLOWED_TAGS = {"p", "h3", "strong", "table", "thead", "tbody", "tr", "th", "td", "code"}
_ALLOWED_TAGS |= {"details", "summary", "ul", "li", "blockquote", "sub", "em"}


class _Rendered(HTMLParser):
    """Tags, attributes, text outside <code>, each <code>'s text, and each table row's cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []
        self.outside: list[str] = []
        self.codes: list[str] = []
        self.rows: list[int] = []
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += attrs
        if tag == "code":
            self._code += 1
            self.codes.append("")
        elif tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th"):
            self.rows[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._code -= 1

    def handle_data(self, data: str) -> None:
        if self._code:
            self.codes[-1] += data
        else:
            self.outside.append(data)


def render(markdown: str) -> _Rendered:
    page = cmarkgfm.markdown_to_html_with_extensions(markdown, options=Options.CMARK_OPT_UNSAFE, extensions=_EXTENSIONS)
    parsed = _Rendered()
    parsed.feed(page)
    parsed.close()
    return parsed


def _pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def assert_markdown_safe(markdown: str) -> _Rendered:
    """Rendered as GitHub does: only our tags, no attribute, nothing a value could turn into a
    link, an image, a mention or HTML outside a code element; every table row as wide as its header."""
    assert len(markdown) <= MARKDOWN_LIMIT
    assert_log_safe(markdown)  # a comment body printed in a CI log is a log too
    page = render(markdown)
    assert page.tags <= _ALLOWED_TAGS, page.tags - _ALLOWED_TAGS
    assert page.attributes == []
    outside = "".join(page.outside)
    for pattern in (r"@\w", "<", "http", r"www\.", "evil", "pwned", "onerror", "alert"):
        assert not re.search(pattern, outside), f"{pattern!r} outside code: {outside[:300]!r}"
    columns = 0
    for line in markdown.splitlines():  # GFM splits a row at every `|` not escaped by `\`
        if line.startswith("|---"):
            continue
        if line.startswith("| "):
            columns = columns or _pipes(line)
            assert _pipes(line) == columns, f"a table row changed width: {line[:200]!r}"
        else:
            columns = 0
    return page


def assert_shown_in_code(page: _Rendered, value: str) -> None:
    if value is LONG:
        return  # details that long are left to the JSON plan; the sizes are asserted below
    shown = MARK.format(terminal(value))
    assert any(shown in code for code in page.codes), f"{shown[:100]!r} not in any code element"


# --- the same hostile value in every field of every result ----------------------------------


def check_result(value: str) -> CheckResult:
    return CheckResult(
        2,
        [
            Finding(value, Position(1, 1), "parse", Severity.WARNING, value),
            Finding(f"models/{value}.yaml", Position(3, 7), "schema", Severity.ERROR, f"bad {MARK.format(value)}"),
        ],
    )


def plan_changes(value: str) -> list[Change]:
    policy = Finding(value, Position(1, 1), "allowed-s3-prefixes", Severity.ERROR, f"s3Uri {MARK.format(value)}")
    return [
        Change(
            f"models/{value}.yaml",
            f"arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/{value}",
            UPDATE,
            (FieldChange(value, value, {"outputConfig": {"s3Uri": value}}), FieldChange("description", None, value)),
            live_only=((value, value), ("name", [value])),
            violations=(policy,),
            waived=(policy,),
            retarget_from=value,
            moved_from=value,
            policy_moves=(RuleMove(value, value, [value]),),
        ),
        Change(value, value, ERROR, error=f"AccessDeniedException: {MARK.format(value)}"),
        Change("", value, UNMANAGED, error=f"live model {MARK.format(value)} is not managed by any file"),
        Change("", value, IGNORED, error=value),
    ]


def apply_results(value: str) -> list[ApplyResult]:
    return [
        ApplyResult(f"models/{value}.yaml", value, APPLIED, (FieldChange(value, 1, 2),), None, 1),
        ApplyResult(value, value, FAILED, (), f"ValidationException: {MARK.format(value)}", 3),
    ]


def import_outcome(value: str) -> ImportOutcome:
    return ImportOutcome(
        results=[
            ImportResult(value, WRITTEN, f"models/{value}.yaml"),
            ImportResult(value, MANAGED, value),
            ImportResult(value, IMPORT_FAILED, None, f"ResourceNotFoundException: {MARK.format(value)}"),
        ],
        listed=[value],
        notes=[value],
        errors=[f"--baseline: {value}\nwaivers:\n  - path: {value}"],
    )


def _import_text(value: str) -> str:
    out, err = report_lines(import_outcome(value))
    return "\n".join([*out, *err]) + "\n"


TEXT_REPORTS: dict[str, Callable[[str], str]] = {
    "check text": lambda v: check_text(check_result(v), Style()),
    "plan text": lambda v: plan_text(plan_changes(v), Style()),
    "drift text": lambda v: plan_text(plan_changes(v), Style(), title="cam-gitops drift"),
    "apply text": lambda v: apply_text(apply_results(v), Style()),
    "apply progress lines": lambda v: "".join(f"[1/2] {apply_line(r)}\n" for r in apply_results(v)),
    "import lines": _import_text,
}
GITHUB_REPORTS: dict[str, tuple[Callable[[str], str], Callable[[str], list[Finding]]]] = {
    "check github": (lambda v: check_github(check_result(v), Style()), lambda v: check_result(v).findings),
    "plan github": (lambda v: plan_github(plan_changes(v), Style()), lambda v: change_findings(plan_changes(v))),
}
JSON_REPORTS: dict[str, Callable[[str], str]] = {
    "check json": lambda v: check_json(check_result(v), Style()),
    "plan json": lambda v: plan_json(plan_changes(v), Style()),
    "apply json": lambda v: apply_json(apply_results(v), Style()),
}
SARIF_REPORTS: dict[str, Callable[[str], str]] = {
    "check sarif": lambda v: check_sarif(check_result(v), Style()),
    "plan sarif": lambda v: plan_sarif(plan_changes(v), Style()),
}
MARKDOWN_REPORTS: dict[str, Callable[[str], str]] = {
    "plan markdown": lambda v: plan_markdown(plan_changes(v), Style()),
    "drift markdown": lambda v: plan_markdown(plan_changes(v), Style(), title="cam-gitops drift"),
    "check failed markdown": lambda v: check_failed_markdown(check_result(v), "plan"),
}
ALL_REPORTS: dict[str, Callable[[str], str]] = {
    **TEXT_REPORTS,
    **{name: report for name, (report, _) in GITHUB_REPORTS.items()},
    **JSON_REPORTS,
    **SARIF_REPORTS,
    **MARKDOWN_REPORTS,
}


@pytest.mark.parametrize("key", IDS)
@pytest.mark.parametrize("report", sorted(TEXT_REPORTS))
def test_text_output_is_inert_and_shows_the_value(report: str, key: str) -> None:
    value = HOSTILE[key]
    text = TEXT_REPORTS[report](value)
    assert_log_safe(text)
    assert MARK.format(terminal(value)) in text


@pytest.mark.parametrize("key", IDS)
def test_colour_codes_are_only_ours(key: str) -> None:
    ours = check_text(check_result("plain"), Style(color=True)).count("\x1b")
    assert check_text(check_result(HOSTILE[key]), Style(color=True)).count("\x1b") == ours
    ours = plan_text(plan_changes("plain"), Style(color=True)).count("\x1b")
    assert plan_text(plan_changes(HOSTILE[key]), Style(color=True)).count("\x1b") == ours


@pytest.mark.parametrize("key", IDS)
@pytest.mark.parametrize("report", sorted(GITHUB_REPORTS))
def test_github_output_has_exactly_our_annotations(report: str, key: str) -> None:
    value = HOSTILE[key]
    render_report, findings_of = GITHUB_REPORTS[report]
    text = render_report(value)
    findings = findings_of(value)
    annotations = assert_log_safe(text, commands=len(findings))
    for line, finding in zip(annotations, findings, strict=True):
        decoded = assert_well_formed_annotation(line)
        assert decoded["file"] == terminal(finding.path)
        assert decoded["data"] == terminal(finding.message)
        assert decoded["title"] == f"cam-gitops [{finding.rule}]"
    assert not text.splitlines()[-1].startswith("::")


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, item in data.items():
            yield key
            yield from _strings(item)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)


@pytest.mark.parametrize("key", IDS)
@pytest.mark.parametrize("report", sorted(JSON_REPORTS))
def test_json_is_inert_text_and_carries_the_value_as_it_is(report: str, key: str) -> None:
    value = HOSTILE[key]
    text = JSON_REPORTS[report](value)
    assert_log_safe(text)
    strings = list(_strings(json.loads(text)))
    assert any(MARK.format(value) in s for s in strings), "JSON is data: the value exactly as it came"


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    schema = json.loads((Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    cls = validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _sarif_unescape(text: str) -> str:
    return re.sub(r"\\([\\\[\]])", r"\1", text)


@pytest.mark.parametrize("key", IDS)
@pytest.mark.parametrize("report", sorted(SARIF_REPORTS))
def test_sarif_messages_carry_no_control_and_no_link(report: str, key: str, sarif_validator: Any) -> None:
    value = HOSTILE[key]
    text = SARIF_REPORTS[report](value)
    assert_log_safe(text)
    log = json.loads(text)
    assert not list(sarif_validator.iter_errors(log)), "valid SARIF 2.1.0"
    (run,) = log["runs"]
    for result in run["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert re.fullmatch(r"(?:[A-Za-z0-9._~/-]|%[0-9A-F]{2})*", uri), f"not a URI reference: {uri[:100]!r}"
    messages = [result["message"]["text"] for result in run["results"]]
    for message in messages:
        assert message.isprintable(), "no ANSI or control character reaches a SARIF viewer"
        assert not re.search(r"(?<!\\)(?:\\\\)*[\[\]]", message), "every bracket escaped: no embedded link"
    assert any(MARK.format(terminal(value)) in _sarif_unescape(m) for m in messages)
    assert sarif_text(MARK.format(value)) in " ".join(messages)


@pytest.mark.parametrize("key", IDS)
@pytest.mark.parametrize("report", sorted(MARKDOWN_REPORTS))
def test_markdown_renders_values_only_as_code(report: str, key: str) -> None:
    value = HOSTILE[key]
    markdown = MARKDOWN_REPORTS[report](value)
    page = assert_markdown_safe(markdown)
    assert_shown_in_code(page, value)


@pytest.mark.parametrize("key", IDS)
def test_a_value_in_a_table_cell_is_one_cell(key: str) -> None:
    value = HOSTILE[key]
    cell = md_code(value, table=True)
    markdown = f"| a | b | c |\n|---|---|---|\n| {cell} | x | {cell} |\n"
    page = assert_markdown_safe(markdown)
    assert page.rows == [3, 3]
    assert page.codes == [terminal(value), terminal(value)], "the cell shows the whole value, `|` included"


def test_a_value_starting_a_line_cannot_start_a_command() -> None:
    for text in (
        check_text(check_result("::error::pwned"), Style()),
        plan_text(plan_changes("  ::warning::pwned"), Style()),
    ):
        assert_log_safe(text)
        assert "\\u003a:" in text


@pytest.mark.parametrize("report", sorted(ALL_REPORTS))
def test_output_grows_linearly_with_a_value(report: str) -> None:
    small, large = (len(ALL_REPORTS[report]("<@x`\u202e" * n)) for n in (500, 1000))
    assert large <= 2 * small, f"{report}: {small} -> {large} characters when the value doubles"


def test_html_summary_line_escapes_for_html() -> None:
    markdown = plan_markdown(plan_changes("<b>@org/team</b>`&amp;`"), Style())
    summary = next(line for line in markdown.splitlines() if line.startswith("<details>"))
    assert "<code>models/&lt;b&gt;&#64;org/team&lt;/b&gt;`&amp;amp;`.yaml</code>" in summary
    assert html.unescape(summary).count("<code>") == 1
