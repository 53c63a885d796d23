"""YAML scalars have one reading, and it is said: only plain decimal digits make a number.

Seen: `+1000` was a string to the loader but an integer to YAML 1.2 and to editors. It stays a
string (as 0x1F4, 007 and 0o17 do): where an integer is due the schema says why it is not one,
and where a string is due a warning says it is read as a string, so it is never silent.
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import VALID_MODEL

from cam_gitops.check.schema import MODEL_SCHEMA, POLICY_SCHEMA, validate
from cam_gitops.loader import MODEL_FILE, POLICY_FILE, load_bytes
from cam_gitops.loader.document import Builder
from cam_gitops.loader.yaml_events import parse_yaml
from cam_gitops.loader.yaml_fast import UNSUPPORTED, fast_yaml

INTEGER_HINT = "only plain decimal digits make an integer (no +, 0x, _, leading zeros or words)"


def findings(text: str, schema: str = MODEL_SCHEMA) -> list[tuple[str, str, int, int, str]]:
    kind = POLICY_FILE if schema == POLICY_SCHEMA else MODEL_FILE
    loaded = load_bytes(text.encode(), "m.yaml", ".yaml", kind)
    assert loaded.document is not None, loaded.findings
    found = [*loaded.findings, *validate(loaded.document, schema)]
    return [(f.severity.value, f.rule, f.position.line, f.position.column, f.message) for f in found]


@pytest.mark.parametrize("text", ["+1500", "+01500", "01500", "0x5DC", "0o2734", "1_500"])
def test_where_an_integer_is_due_the_schema_says_only_plain_digits_make_one(text: str) -> None:
    found = findings(VALID_MODEL.replace("minMatchingSeedSize: 1500", f"minMatchingSeedSize: {text}"))
    assert found == [
        ("error", "schema", 4, 22, f'minMatchingSeedSize must be an integer, got "{text}"; {INTEGER_HINT}')
    ]


def test_the_same_holds_for_an_integer_in_the_policy() -> None:
    found = findings("rules:\n  min-matching-seed-size: +1000\n", POLICY_SCHEMA)
    assert found == [
        ("error", "schema", 2, 27, f'rules.min-matching-seed-size must be an integer, got "+1000"; {INTEGER_HINT}')
    ]


@pytest.mark.parametrize("text", ["+1000", "-007", "007", "0x1F", "0o17", "+0"])
def test_where_a_string_is_due_a_number_like_value_is_read_as_a_string_and_said(text: str) -> None:
    found = findings(VALID_MODEL.replace("description: Spring lookalikes", f"description: {text}"))
    assert found == [
        (
            "warning",
            "parse",
            2,
            14,
            f'description is read as the string "{text}" (only plain decimal digits make a number), '
            f'but YAML 1.2 tools read it as a number: quote it ("{text}") to say it is a string',
        )
    ]


@pytest.mark.parametrize("text", ['"+1000"', "'007'", "1_000", "yes", "12:30", "2024-01-01", "+1000x", "0x", "0xZ"])
def test_quoted_values_and_yaml_1_1_forms_are_strings_without_a_warning(text: str) -> None:
    assert findings(VALID_MODEL.replace("description: Spring lookalikes", f"description: {text}")) == []


def test_a_number_like_item_of_a_flow_list_is_said_at_the_item() -> None:
    text = "rules:\n  allowed-regions: [us-east-1, +1000]\n"
    found = findings(text, POLICY_SCHEMA)
    assert [(f[0], f[1], f[2], f[3]) for f in found] == [("error", "schema", 2, 32)]  # the pattern says it
    text = "rules: {}\nwaivers:\n  - path: +1000\n    rule: require-description\n    reason: a long reason\n"
    text += "    expires: 2030-01-01\n"
    found = findings(text, POLICY_SCHEMA)
    assert [(f[0], f[1], f[2], f[3]) for f in found] == [("warning", "parse", 3, 11)]


@pytest.mark.parametrize(
    "text",
    [
        "a: +1000\n",
        "a: [+1000, 007]\n",
        "a:\n  - 0x1F\n  - b: 0o17\n",
        "a: +1.5\n",  # a float to both: YAML 1.2 and the loader agree
    ],
)
def test_fast_path_and_event_parser_note_the_same_values(text: str) -> None:
    fast_builder, slow_builder = Builder(), Builder()
    fast = fast_yaml(text, fast_builder)
    assert fast is not UNSUPPORTED
    slow: Any = parse_yaml(text, slow_builder)
    assert fast == slow
    assert fast_builder.numberlike == slow_builder.numberlike


def test_plus_sign_floats_stay_floats() -> None:
    loaded = load_bytes(b"a: +1.5\nb: +1e3\n", "m.yaml", ".yaml")
    assert loaded.document is not None and loaded.document.data == {"a": 1.5, "b": 1000.0}
    assert loaded.document.numberlike == frozenset()
