"""The escaping rule of each medium (cam_gitops.report.escape), and the caps that keep a report
line short whatever the input. The same rules applied by every reporter: tests/hostile/."""

from __future__ import annotations

import json

import pytest

from cam_gitops.findings import Finding, Position, Severity
from cam_gitops.live.apply import FAILED, ApplyResult
from cam_gitops.live.plan import UPDATE, Change, FieldChange
from cam_gitops.report.apply import PATH_COLUMN, apply_line, apply_text
from cam_gitops.report.check import Style
from cam_gitops.report.escape import (
    capped,
    html_code,
    json_text,
    log_line,
    log_text,
    md_code,
    md_inline,
    sarif_text,
    terminal,
)
from cam_gitops.report.plan import NOTE_FINDINGS, change_findings, notes, plan_markdown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred", "\\u001b[31mred"),  # ESC: every ANSI/CSI sequence
        ("\x9b31m", "\\u009b31m"),  # C1 CSI
        ("a\r\nb", "a\\u000d\\u000ab"),
        ("a\x08\x7f\x00\tb", "a\\u0008\\u007f\\u0000\\u0009b"),
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("\u2066x\u2069\u200e", "\\u2066x\\u2069\\u200e"),  # isolates, marks
        ("a\u200bb\ufeffc", "a\\u200bb\\ufeffc"),  # zero width, BOM
        ("a\u2028b\u2029c\u00a0d", "a\\u2028b\\u2029c\\u00a0d"),  # separators, NBSP
        ("x\U000e0041", "x\\U000e0041"),  # tag character
        ("x\ud800", "x\\ud800"),  # lone surrogate: the output stays encodable
        ("x##[error]y", "x#\\u0023[error]y"),  # the runner's legacy command syntax
        ("é 日本 🙂 a b", "é 日本 🙂 a b"),  # letters, symbols and spaces are kept
        ("C:\\path\\u001b", "C:\\path\\u001b"),  # backslashes are kept as they are
    ],
)
def test_terminal_makes_every_invisible_character_visible(raw: str, shown: str) -> None:
    assert terminal(raw) == shown
    assert terminal(shown) == shown, "escaping twice changes nothing"
    terminal(raw).encode("utf-8")


def test_terminal_keeps_newlines_only_when_asked() -> None:
    assert terminal("a\nb\x1b", keep_newlines=True) == "a\nb\\u001b"
    assert terminal("a\nb") == "a\\u000ab"


@pytest.mark.parametrize(
    ("line", "guarded"),
    [
        ("::error::x", "\\u003a:error::x"),
        ("  ::warning file=a::x", "  \\u003a:warning file=a::x"),
        ("models/a::error::x", "models/a::error::x"),  # a command only at the start of a line
        ("x ##[group]y", "x #\\u0023[group]y"),  # the legacy syntax anywhere in a line
        (":single colon", ":single colon"),
    ],
)
def test_log_line_lets_no_value_start_a_workflow_command(line: str, guarded: str) -> None:
    assert log_line(line) == guarded
    assert log_text(f"ok\n{line}\nok") == f"ok\n{guarded}\nok"


@pytest.mark.parametrize(
    ("value", "span"),
    [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("a``b`", "``` a``b` ```"),
        ("`", "`` ` ``"),
        (" padded ", "`  padded  `"),
        ("", "` `"),
        ("<img src=x>", "`<img src=x>`"),
        ("line\nbreak", "`line\\u000abreak`"),
    ],
)
def test_md_code_fence_is_longer_than_any_backtick_run(value: str, span: str) -> None:
    assert md_code(value) == span


def test_md_code_in_a_table_escapes_pipes_only_there() -> None:
    assert md_code("a|b", table=True) == "`a\\|b`"
    assert md_code("a|b") == "`a|b`"


def test_md_inline_is_plain_only_for_bare_words_and_numbers() -> None:
    assert [md_inline(v) for v in ("1000", "-1.5", "min-matching-seed-size")] == [
        "1000",
        "-1.5",
        "min-matching-seed-size",
    ]
    for value in ("www.evil.example", "@org", ":x:", "#12", "a b", "[x](y)", "<b>", "x_y", "1."):
        assert md_inline(value) == md_code(value)


def test_html_code_escapes_tags_mentions_and_links() -> None:
    assert html_code("<b a='1'>@org/team</b> & https://x") == (
        "<code>&lt;b a=&#x27;1&#x27;&gt;&#64;org/team&lt;/b&gt; &amp; https&#58;//x</code>"
    )


def test_sarif_text_escapes_brackets_and_backslashes() -> None:
    assert sarif_text("[x](https://evil.example) a\\b \x1b") == "\\[x\\](https://evil.example) a\\\\b \\\\u001b"


def test_json_text_reads_back_the_same_and_shows_nothing_invisible() -> None:
    data = {"v": "é\x7f\x9b\u202e\u2028\U000e0041\ud800##[error]\x1b\n", "k\u200b": ["x"]}
    text = json_text(data)
    assert json.loads(text) == data
    assert all(ch.isprintable() or ch == "\n" for ch in text)
    assert "##[" not in text and "é" in text
    assert "\\udb40\\udc41" in text, "a character beyond the BMP as a JSON surrogate pair"


def test_capped() -> None:
    assert capped(["a", "b", "c"], 3) == "a, b, c"
    assert capped(["a", "b", "c", "d"], 2) == "a, b and 2 more"


# --- caps: a line or a report grows with the input, never with its square --------------------

FIELDS = tuple(FieldChange(f"field{i}", 1, 2) for i in range(50))


def test_apply_line_lists_ten_fields_then_how_many_more() -> None:
    line = apply_line(ApplyResult("models/m.yaml", "arn", "applied", FIELDS))
    assert line.endswith("(field0, field1, field2, field3, field4, field5, field6, field7, field8, field9 and 40 more)")


def test_plan_annotation_lists_ten_fields_then_how_many_more() -> None:
    (finding,) = change_findings([Change("models/m.yaml", "arn", UPDATE, FIELDS)])
    assert finding.message.endswith("field9 and 40 more")


def test_policy_findings_per_model_are_capped_in_text_and_markdown() -> None:
    violations = tuple(
        Finding("models/m.yaml", Position(1, 1), "require-description", Severity.ERROR, f"finding {i}")
        for i in range(NOTE_FINDINGS + 7)
    )
    change = Change("models/m.yaml", "arn", "refused", violations=violations)
    lines = notes(change)
    assert len(lines) == NOTE_FINDINGS + 1
    assert lines[-1] == "policy: ... and 7 more (`--format json` lists them all)"
    assert plan_markdown([change], Style()).count("finding ") == NOTE_FINDINGS


def test_apply_table_pads_to_a_bounded_width() -> None:
    long = "models/" + "x" * 10_000 + ".yaml"
    results = [ApplyResult(long, "arn", FAILED, (), "boom")] + [
        ApplyResult(f"models/m{i}.yaml", "arn", "no-op") for i in range(200)
    ]
    text = apply_text(results, Style())
    assert len(text) < len(long) + 200 * (PATH_COLUMN + 40)
    assert f"{long}  failed" in text
