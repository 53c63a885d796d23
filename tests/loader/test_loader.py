"""The strict loader: positions of keys and values, YAML 1.2 scalar typing, refused input."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from cam_gitops.findings import Position
from cam_gitops.loader import MAX_DEPTH, SourceDocument, load_bytes, load_file


def load(text: str | bytes, suffix: str = ".yaml") -> SourceDocument:
    raw = text if isinstance(text, bytes) else textwrap.dedent(text).encode()
    loaded = load_bytes(raw, f"m{suffix}", suffix)
    assert loaded.document is not None, loaded.findings
    assert loaded.findings == ()
    return loaded.document


def refused(text: str | bytes, suffix: str = ".yaml") -> tuple[str, int, int, str]:
    raw = text if isinstance(text, bytes) else text.encode()
    loaded = load_bytes(raw, f"m{suffix}", suffix)
    assert loaded.document is None
    assert len(loaded.findings) == 1, loaded.findings
    finding = loaded.findings[0]
    assert finding.path == f"m{suffix}" and finding.severity.value == "error"
    return finding.rule, finding.position.line, finding.position.column, finding.message


def at(line: int, column: int) -> Position:
    return Position(line, column)


# --- positions ---------------------------------------------------------------------------------


def test_yaml_block_style_positions_of_keys_and_values() -> None:
    document = load(
        """\
        # a comment first
        outputConfig:
          destination:
            s3Destination:
              s3Uri: s3://acme/x/
          roleArn:   arn:aws:iam::111122223333:role/r
        audienceSizeBins:
          - 10
          -   20
        """
    )
    assert document.locate_key(("outputConfig",)) == at(2, 1)
    assert document.locate_key(("outputConfig", "destination", "s3Destination", "s3Uri")) == at(5, 7)
    assert document.locate(("outputConfig", "destination", "s3Destination", "s3Uri")) == at(5, 14)
    assert document.locate_key(("outputConfig", "roleArn")) == at(6, 3)
    assert document.locate(("outputConfig", "roleArn")) == at(6, 14)
    assert document.locate(("audienceSizeBins", 0)) == at(8, 5)
    assert document.locate(("audienceSizeBins", 1)) == at(9, 7)
    # a path that does not exist falls back to its nearest ancestor
    assert document.locate(("outputConfig", "destination", "nothing", "here")) == at(4, 5)
    assert document.locate_key(("outputConfig", "destination", "missing")) == at(4, 5)


def test_yaml_flow_style_positions() -> None:
    document = load('a: {b: [1, "two", {c: 3}], d: x}\n')
    assert document.locate_key(("a", "b")) == at(1, 5)
    assert document.locate(("a", "b")) == at(1, 8)
    assert document.locate(("a", "b", 1)) == at(1, 12)
    assert document.locate(("a", "b", 2, "c")) == at(1, 23)
    assert document.locate_key(("a", "b", 2, "c")) == at(1, 20)
    assert document.locate(("a", "d")) == at(1, 31)
    assert ("a", "b", 1) in document.quoted and ("a", "b", 0) not in document.quoted


def test_yaml_multiline_values_start_where_they_start() -> None:
    document = load(
        """\
        description: >
          folded text
          more
        other: |-
          literal
        """
    )
    assert document.data == {"description": "folded text more\n", "other": "literal"}
    assert document.locate(("description",)) == at(1, 14)
    assert ("description",) in document.quoted  # block scalars are strings, never typed


def test_json_nested_positions_of_keys_and_values() -> None:
    document = load(
        '{\n  "outputConfig": {\n    "roleArn": "arn",\n    "destination": {"s3Destination": {"s3Uri": "s3://a/"}}\n'
        '  },\n  "bins": [1,\n           2]\n}\n',
        ".json",
    )
    assert document.locate_key(("outputConfig",)) == at(2, 3)
    assert document.locate(("outputConfig",)) == at(2, 19)
    assert document.locate_key(("outputConfig", "roleArn")) == at(3, 5)
    assert document.locate(("outputConfig", "roleArn")) == at(3, 16)
    assert document.locate_key(("outputConfig", "destination", "s3Destination", "s3Uri")) == at(4, 39)
    assert document.locate(("outputConfig", "destination", "s3Destination", "s3Uri")) == at(4, 48)
    assert document.locate(("bins", 0)) == at(6, 12)
    assert document.locate(("bins", 1)) == at(7, 12)
    assert document.locate(()) == at(1, 1)


def test_json_columns_count_characters_not_bytes() -> None:
    document = load('{"description": "caf\u00e9 \u00e9", "x": 1}', ".json")
    assert document.locate(("x",)) == at(1, 32)


def test_load_file_reads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "m.yml"
    path.write_text("a: 1\n")
    loaded = load_file(path, "models/m.yml")
    assert loaded.document is not None and loaded.document.data == {"a": 1}
    assert loaded.document.path == "models/m.yml"
    missing = load_file(tmp_path / "nope.yaml", "models/nope.yaml")
    assert missing.document is None and "cannot read the file" in missing.findings[0].message


# --- strict scalar typing ----------------------------------------------------------------------

SCALARS: list[tuple[str, Any]] = [
    ("500", 500),
    ("-3", -3),
    ("0", 0),
    ("007", "007"),
    ("0x1F4", "0x1F4"),
    ("0o17", "0o17"),
    ("1_000", "1_000"),
    ("+5", "+5"),
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("y", "y"),
    ("2024-01-01", "2024-01-01"),
    ("12:30", "12:30"),
    ("500.0", 500.0),
    ("1e3", 1000.0),
    ("-1.5", -1.5),
    ("~", None),
    ("null", None),
    ("", None),
    ("true", True),
    ("false", False),
    ("True", True),
    ('"500"', "500"),
    ("'true'", "true"),
    ("'null'", "null"),
    ("s3://a/b", "s3://a/b"),
]


@pytest.mark.parametrize(("text", "expected"), SCALARS, ids=[s[0] or "empty" for s in SCALARS])
def test_yaml_scalars_are_typed_the_strict_way(text: str, expected: Any) -> None:
    value = load(f"v: {text}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500", 500), ("500.0", 500.0), ("1e3", 1000.0), ("-0", 0), ('"500"', "500"), ("true", True), ("null", None)],
)
def test_json_numbers_keep_int_and_float_apart(text: str, expected: Any) -> None:
    value = load(f'{{"v": {text}}}', ".json").data["v"]
    assert value == expected
    assert type(value) is type(expected)


# --- refused input -----------------------------------------------------------------------------


DEEP = f"nesting deeper than {MAX_DEPTH} levels"


@pytest.mark.parametrize(
    ("suffix", "text", "message"),
    [
        (".yaml", "a:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(60)) + "  " * 61 + "x: 1\n", DEEP),
        (".yaml", "a: " + "[" * 500 + "]" * 500 + "\n", DEEP),
        (".yaml", "a: " + "[" * 50000 + "]" * 50000 + "\n", "nesting depth"),  # libyaml's own limit
        (".json", '{"a": ' + "[" * 100000 + "]" * 100000 + "}", DEEP),
        (".json", '{"a": ' + '{"b": ' * 5000 + "1" + "}" * 5000 + "}", DEEP),
    ],
    ids=["yaml block", "yaml flow", "yaml flow very deep", "json arrays", "json objects"],
)
def test_deep_nesting_is_refused_without_recursion_error(suffix: str, text: str, message: str) -> None:
    rule, line, _, found = refused(text, suffix)
    assert (rule, line) == ("parse", 1 if "{" in text or "[" in text else MAX_DEPTH + 2)
    assert message in found


def test_nesting_up_to_the_limit_is_read() -> None:
    deep: Any = load('{"a": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}", ".json").data
    for _ in range(MAX_DEPTH - 1):
        deep = deep["a"] if isinstance(deep, dict) else deep[0] if deep else deep
    assert deep == []


@pytest.mark.parametrize(
    ("suffix", "raw", "line", "column"),
    [
        (".yaml", b"a: 1\nb: x\x07y\n", 2, 5),
        (".yaml", b'a: 1\nb: "x\x1b"\n', 2, 6),
        (".yaml", b"a: 1\n\x00\n", 2, 1),
        # columns count characters: multi-byte UTF-8 before the control character
        (".yaml", "a: 1\nd: caf\u00e9 \u00e9\u00e9 \x07\n".encode(), 2, 12),
        (".json", b'{"a": 1,\n "b": "x\x07"}', 2, 9),
        (".json", '{"d": "\u00e9\u00e9\x01"}'.encode(), 1, 10),
    ],
    ids=["yaml plain", "yaml quoted", "yaml nul", "yaml after utf-8", "json", "json after utf-8"],
)
def test_control_characters_are_refused_at_their_position(suffix: str, raw: bytes, line: int, column: int) -> None:
    rule, found_line, found_column, message = refused(raw, suffix)
    assert (rule, found_line, found_column) == ("parse", line, column)
    assert "control character" in message or "is not allowed in YAML" in message
    assert not message.endswith(" at")


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("a: 1\nb: &x 2\n", 2, 4, "YAML anchor &x is not allowed"),
        ("a: !!str 1\n", 1, 4, "YAML tag !!str is not allowed"),
        ("? [a, b]\n: 1\n", 1, 3, "a key must be a plain string"),
        ("a: 1\n---\nb: 2\n", 2, 1, "more than one YAML document"),
        ("- 1\n", 1, 1, "top level is a list"),
        ("a: [1\n", 2, 1, "invalid YAML"),
    ],
)
def test_yaml_constructs_that_are_refused(text: str, line: int, column: int, message: str) -> None:
    rule, found_line, found_column, found = refused(text)
    assert (rule, found_line, found_column) == ("parse", line, column)
    assert message in found


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('{"a": 1', 1, 8, "expected ',' or '}'"),
        ('{"a": 1}\n{"b": 2}', 2, 1, "extra data after the top-level value"),
        ("{'a': 1}", 1, 2, "expected a quoted key"),
        ('{"a": tru}', 1, 7, "unexpected character 't'"),
        ('{"a": NaN}', 1, 7, "NaN is not a JSON number; non-finite numbers are never valid in a model or policy file"),
        ('{"a" 1}', 1, 6, "expected ':' after the key"),
        ('{"a": "\\x"}', 1, 8, "invalid json: invalid \\escape".removeprefix("invalid json: ")),
    ],
)
def test_json_errors_have_positions(text: str, line: int, column: int, message: str) -> None:
    rule, found_line, found_column, found = refused(text, ".json")
    assert (rule, found_line, found_column) == ("parse", line, column)
    assert found.startswith("invalid JSON: ") and message in found


def test_duplicate_keys_are_findings_with_both_positions() -> None:
    loaded = load_bytes(b"a: 1\nb:\n  c: 1\n  c: 2\n", "m.yaml", ".yaml")
    assert loaded.document is not None
    assert [(f.rule, f.position.line, f.position.column, f.message) for f in loaded.findings] == [
        ("duplicate-key", 4, 3, "duplicate key 'c' (first at line 3); only one would be kept: remove one")
    ]
    assert loaded.document.data == {"a": 1, "b": {"c": 1}}
