"""Hostile values in model and policy files: a finding at the value, never a crash.

Strings that cannot be encoded as UTF-8, non-finite numbers and integers too long to read
are refused by every reader (YAML fast path, YAML event path, JSON) with the same message.
"""

from __future__ import annotations

import pytest

from cam_gitops.findings import Position
from cam_gitops.loader import MAX_INT_DIGITS, POLICY_FILE, load_bytes
from cam_gitops.loader.document import Builder, Refused
from cam_gitops.loader.yaml_events import parse_yaml
from cam_gitops.loader.yaml_fast import UNSUPPORTED, fast_yaml

NON_FINITE = "non-finite numbers are never valid in a model or policy file"
TOO_LONG = f"digits is too long to read (the limit is {MAX_INT_DIGITS})"
SURROGATE = "cannot be encoded as UTF-8"
BIG = "1" * (MAX_INT_DIGITS + 1)

# (case, suffix, content, line, column, what the message says)
CASES: list[tuple[str, str, str, int, int, str]] = [
    ("json lone surrogate", ".json", '{\n  "description": "\\ud800"\n}', 2, 18, SURROGATE),
    ("json lone low surrogate", ".json", '{"description": "ok \\udfff"}', 1, 17, SURROGATE),
    ("json lone surrogate in a key", ".json", '{"\\ud800": 1}', 1, 2, SURROGATE),
    ("json reversed pair", ".json", '{"d": "\\ude00\\ud83d"}', 1, 7, SURROGATE),
    ("json lone surrogate in a list", ".json", '{"d": ["a", "\\ud800"]}', 1, 13, SURROGATE),
    ("yaml lone surrogate escape", ".yaml", 'description: "\\ud800"\n', 1, 14, SURROGATE),
    ("yaml lone surrogate escape in a flow list", ".yaml", 'd: [a, "x\\udc00"]\n', 1, 8, SURROGATE),
    ("json NaN", ".json", '{"minMatchingSeedSize": NaN}', 1, 25, f"NaN is not a JSON number; {NON_FINITE}"),
    ("json Infinity", ".json", '{"a": [1, Infinity]}', 1, 11, f"Infinity is not a JSON number; {NON_FINITE}"),
    ("json -Infinity", ".json", '{"a": -Infinity}', 1, 7, f"-Infinity is not a JSON number; {NON_FINITE}"),
    ("json float overflow", ".json", '{"a": 1e400}', 1, 7, f"1e400 is too large to be a finite number; {NON_FINITE}"),
    ("json overflowing negative float", ".json", '{"a": -1.5E999}', 1, 7, "-1.5E999 is too large"),
    ("yaml .inf", ".yaml", "minMatchingSeedSize: .inf\n", 1, 22, f".inf is not a finite number; {NON_FINITE}"),
    ("yaml -.Inf", ".yaml", "a: -.Inf\n", 1, 4, f"-.Inf is not a finite number; {NON_FINITE}"),
    ("yaml +.INF", ".yaml", "a:\n  b: +.INF\n", 2, 6, NON_FINITE),
    ("yaml .nan", ".yaml", "a: .nan\n", 1, 4, f".nan is not a finite number; {NON_FINITE}"),
    ("yaml .NaN in a list", ".yaml", "a:\n  - 1\n  - .NaN\n", 3, 5, NON_FINITE),
    ("yaml .inf in a flow list", ".yaml", "a: [1, .inf]\n", 1, 8, NON_FINITE),
    ("yaml .inf in a broken flow list", ".yaml", "a: [.inf, \n", 1, 5, NON_FINITE),
    ("yaml .nan in a broken flow list", ".yaml", "a: [x, .nan,\nb: 1\n", 1, 8, NON_FINITE),
    ("yaml .inf in a flow mapping", ".yaml", "a: {b: .inf}\n", 1, 8, NON_FINITE),
    ("yaml overflowing float", ".yaml", "a: 1e400\n", 1, 4, f"1e400 is too large to be a finite number; {NON_FINITE}"),
    ("json long integer", ".json", f'{{"a": {BIG}}}', 1, 7, f"number with {MAX_INT_DIGITS + 1} {TOO_LONG}"),
    ("json long negative integer", ".json", f'{{"a": [-{BIG}]}}', 1, 8, TOO_LONG),
    ("yaml long integer", ".yaml", f"a: {BIG}\n", 1, 4, TOO_LONG),
    ("yaml long integer in a flow list", ".yaml", f"a: [1, {BIG}]\n", 1, 8, TOO_LONG),
    ("yaml long integer in a flow mapping", ".yaml", f"a: {{b: -{BIG}}}\n", 1, 8, TOO_LONG),
    ("yaml long integer in a block list", ".yaml", f"a:\n  - {BIG}\n", 2, 5, TOO_LONG),
]


def refusal(content: str, suffix: str) -> tuple[str, int, int, str]:
    loaded = load_bytes(content.encode(), f"m{suffix}", suffix)
    assert loaded.document is None
    assert len(loaded.findings) == 1, loaded.findings
    finding = loaded.findings[0]
    assert finding.severity.value == "error"
    return finding.rule, finding.position.line, finding.position.column, finding.message


@pytest.mark.parametrize(("case", "suffix", "content", "line", "column", "says"), CASES, ids=[c[0] for c in CASES])
def test_hostile_value_is_a_parse_finding_at_the_value(
    case: str, suffix: str, content: str, line: int, column: int, says: str
) -> None:
    rule, found_line, found_column, message = refusal(content, suffix)
    assert (rule, found_line, found_column) == ("parse", line, column)
    assert says in message


YAML_CASES = [c for c in CASES if c[1] == ".yaml"]


@pytest.mark.parametrize("content", [c[2] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_yaml_fast_path_leaves_every_hostile_value_to_the_event_parser(content: str) -> None:
    assert fast_yaml(content, Builder()) is UNSUPPORTED
    with pytest.raises(Refused):
        parse_yaml(content, Builder())


def test_the_same_hostile_values_in_a_policy_file_are_refused_too() -> None:
    for case, suffix, content, line, column, says in CASES:
        loaded = load_bytes(content.encode(), f"policy{suffix}", suffix, POLICY_FILE)
        assert loaded.document is None, case
        assert [(f.rule, f.position) for f in loaded.findings] == [("parse", Position(line, column))], case
        assert says in loaded.findings[0].message, case


def test_surrogate_message_says_what_to_do() -> None:
    _, _, _, message = refusal('{"description": "\\ud83d"}', ".json")
    assert message == (
        "string holds \\ud83d, half of a UTF-16 surrogate pair, which cannot be encoded as UTF-8; "
        "write the character itself, or both halves of the pair"
    )


@pytest.mark.parametrize(
    ("suffix", "content", "expected"),
    [
        (".json", '{"d": "\\ud83d\\ude00"}', "\U0001f600"),  # a whole pair is one character
        (".json", '{"d": "caf\\u00e9"}', "caf\u00e9"),
        (".yaml", 'd: "\\U0001F600"\n', "\U0001f600"),
        (".yaml", "d: '.inf'\n", ".inf"),  # quoted: a string, as it says
        (".yaml", 'd: ".nan"\n', ".nan"),
        (".json", f'{{"d": "{BIG}"}}', BIG),
        (".yaml", "d: 1e308\n", 1e308),
        (".json", '{"d": -0.0}', -0.0),
        (".yaml", f"d: {'9' * MAX_INT_DIGITS}\n", int("9" * MAX_INT_DIGITS)),
        (".json", f'{{"d": -{"9" * MAX_INT_DIGITS}}}', -int("9" * MAX_INT_DIGITS)),
    ],
)
def test_values_next_to_the_hostile_ones_are_read(suffix: str, content: str, expected: object) -> None:
    loaded = load_bytes(content.encode(), f"m{suffix}", suffix)
    assert loaded.document is not None, loaded.findings
    assert loaded.document.data["d"] == expected
    assert type(loaded.document.data["d"]) is type(expected)


def test_a_lower_interpreter_digit_limit_is_a_finding_not_a_crash() -> None:
    import sys

    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        rule, line, column, message = refusal(f'{{"a": {"7" * 1000}}}', ".json")
    finally:
        sys.set_int_max_str_digits(previous)
    assert (rule, line, column) == ("parse", 1, 7)
    assert "number with 1000 digits is too long to read" in message
