"""Differential tests: the loader's readers against reference parsers, the compiled schema
predicate against jsonschema, over generated input.

- YAML: the reference is libyaml's event stream read with the YAML 1.2 core schema, written
  here from the spec. Whatever the reference reads, the loader (fast path and event path)
  reads to the same data, or refuses the file with a finding for one of the documented
  reasons. The one documented difference in reading: YAML 1.2 integers that are not plain
  decimal digits (+1000, 007, 0x1F, 0o17) are strings, and noted as number-like.
- JSON: the reference is json.loads. The same rule; json.loads accepts NaN, Infinity and
  lone surrogates, which the loader refuses, and keeps the last of duplicate keys, which the
  loader reports.
- Schema: the compiled predicate and jsonschema give the same verdict.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
import yaml
from factories import ARN, AUDIENCE_MODEL_ARN, ROLE_ARN
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from cam_gitops.check.schema import MODEL_SCHEMA, POLICY_SCHEMA, detailed_validator, fast_validator
from cam_gitops.loader import MAX_DEPTH, MAX_INT_DIGITS, MAX_KEY_CHARS, load_bytes
from cam_gitops.loader.document import Builder, Refused
from cam_gitops.loader.yaml_events import parse_yaml
from cam_gitops.loader.yaml_fast import UNSUPPORTED, fast_yaml

# What the loader says for each documented reason to refuse a file that a reference reads.
REASONS = {
    "non-finite": ("non-finite numbers are never valid",),
    "digits": ("digits is too long to read",),
    "depth": ("nesting deeper than",),
    "key": ("keys are at most",),
    "surrogate": ("cannot be encoded as UTF-8",),
    "top": ("top level is", "file has no content", "file is empty"),
    "construct": ("is not allowed", "more than one YAML document", "a key must be a plain string"),
    "duplicate": ("duplicate key",),
    "syntax": ("",),  # the reference refuses too: any parse finding will do
}

NOT_READ = object()


class Expected:
    """What the loader must produce: data and number-like paths, or a refusal for reasons."""

    def __init__(self) -> None:
        self.reasons: set[str] = set()
        self.numberlike: set[tuple[Any, ...]] = set()


def typed(value: Any) -> Any:
    """value with every scalar's type made explicit (1 == 1.0 == True otherwise)."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def assert_loader_agrees(text: str, suffix: str, data: Any, expected: Expected) -> None:
    loaded = load_bytes(text.encode("utf-8", "surrogatepass"), f"m{suffix}", suffix)
    errors = [f for f in loaded.findings if f.severity.value == "error"]
    event(
        f"{suffix} " + (" ".join(sorted(expected.reasons)) or "read") + (" numberlike" if expected.numberlike else "")
    )
    if expected.reasons:
        assert errors, f"accepted although {expected.reasons}:\n{text[:500]}"
        finding = errors[0]
        assert finding.rule in ("parse", "duplicate-key"), finding
        says = [s for reason in expected.reasons for s in REASONS[reason]]
        assert any(s in finding.message for s in says), (expected.reasons, finding.message, text[:300])
        return
    assert loaded.document is not None and errors == [], f"{loaded.findings}\n{text[:500]}"
    assert typed(loaded.document.data) == typed(data), text[:500]
    assert set(loaded.document.numberlike) == expected.numberlike, text[:500]


# --- YAML: the reference reading ----------------------------------------------------------------

CORE_NULL = re.compile(r"(?:null|Null|NULL|~|)\Z")
CORE_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
CORE_INT = re.compile(r"[-+]?[0-9]+\Z|0o[0-7]+\Z|0x[0-9a-fA-F]+\Z")
CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
CORE_NON_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")


def core_scalar(text: str, path: tuple[Any, ...], expected: Expected) -> Any:
    """A plain scalar under the YAML 1.2 core schema, with the loader's documented reading."""
    if CORE_NULL.match(text):
        return None
    if text in CORE_BOOL:
        return CORE_BOOL[text]
    if CORE_INT.match(text):
        if not PLAIN_DECIMAL.match(text):
            expected.numberlike.add(path)  # the one documented difference: a noted string
            return text
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            expected.reasons.add("digits")
            return NOT_READ
        return int(text)
    if CORE_FLOAT.match(text):
        value = float(text)
        if not math.isfinite(value):
            expected.reasons.add("non-finite")
        return value
    if CORE_NON_FINITE.match(text):
        expected.reasons.add("non-finite")
        return NOT_READ
    return text


def reference_yaml(text: str) -> tuple[Any, Expected]:
    """Read text from libyaml's events under the YAML 1.2 core schema."""
    expected = Expected()
    try:
        events = list(yaml.parse(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        expected.reasons.add("syntax")
        return NOT_READ, expected
    except ValueError:  # only with the pure-Python scanner
        expected.reasons.add("surrogate")
        return NOT_READ, expected
    position = 0

    def node(path: tuple[Any, ...]) -> Any:
        nonlocal position
        event = events[position]
        position += 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            expected.reasons.add("construct")
        if getattr(event, "tag", None) not in (None, "!"):
            expected.reasons.add("construct")
        if len(path) > MAX_DEPTH:
            expected.reasons.add("depth")
        if isinstance(event, yaml.ScalarEvent):
            if event.style:
                if re.search("[\ud800-\udfff]", event.value):
                    expected.reasons.add("surrogate")
                return event.value
            return core_scalar(event.value, path, expected)
        if isinstance(event, yaml.SequenceStartEvent):
            items = []
            while not isinstance(events[position], yaml.SequenceEndEvent):
                items.append(node((*path, len(items))))
            position += 1
            return items
        if isinstance(event, yaml.MappingStartEvent):
            mapping: dict[str, Any] = {}
            while not isinstance(events[position], yaml.MappingEndEvent):
                key_event = events[position]
                if not isinstance(key_event, yaml.ScalarEvent):
                    expected.reasons.add("construct")
                    node(path)
                    node(path)
                    continue
                position += 1
                key = key_event.value
                if key_event.anchor is not None or key_event.tag not in (None, "!"):
                    expected.reasons.add("construct")
                if len(key) > MAX_KEY_CHARS:
                    expected.reasons.add("key")
                if key in mapping:
                    expected.reasons.add("duplicate")
                    node((*path, key))
                    continue
                mapping[key] = node((*path, key))
            position += 1
            return mapping
        return NOT_READ  # an alias

    documents = [i for i, event in enumerate(events) if isinstance(event, yaml.DocumentStartEvent)]
    if len(documents) > 1:
        expected.reasons.add("construct")
    if not documents:
        expected.reasons.add("top")
        return NOT_READ, expected
    position = documents[0] + 1
    data = node(())
    if not isinstance(data, dict):
        expected.reasons.add("top")
    return data, expected


def assert_yaml_paths_agree(text: str) -> None:
    """The fast path answers only with what the event parser reads, positions included."""
    fast_builder, slow_builder = Builder(), Builder()
    fast = fast_yaml(text, fast_builder)
    if fast is UNSUPPORTED:
        return
    try:
        slow = parse_yaml(text, slow_builder)
    except Refused as refused:
        raise AssertionError(f"fast path read what the event parser refuses: {refused.message}\n{text}") from None
    assert typed(fast) == typed(slow), text
    for attribute in ("value_positions", "key_positions", "quoted", "numberlike"):
        assert getattr(fast_builder, attribute) == getattr(slow_builder, attribute), (attribute, text)


def check_yaml(text: str) -> None:
    assert_yaml_paths_agree(text)
    data, expected = reference_yaml(text)
    assert_loader_agrees(text, ".yaml", data, expected)


# Values chosen to hit every documented reading: YAML 1.1 and 1.2 forms, non-finite and
# too-long numbers, strings that look like other types, unicode, astral characters.
TRICKY_STRINGS = st.sampled_from(
    ["+1000", "007", "-007", "0x1F", "0o17", "1_000", "1e3", "1.", ".5", "+.5", "-.inf", ".NaN", "1e400", "yes", "No",
     "~", "null", "", " ", "2024-01-01", "12:30", "a: b", "- x", "#x", "x #y", "'q'", '"q"', "@x", "`x", "%x", "!x",
     "&x", "*x", "[x]", "{x}", "caf\u00e9", "\U0001f600", "line\nbreak", "tab\there", "\u2028", "\x85", "\ufeff"]
)  # fmt: skip
SCALARS = st.one_of(
    st.integers(),
    st.integers(10**4000, 10**MAX_INT_DIGITS - 1),  # as long as an integer can be written
    st.floats(),
    st.booleans(),
    st.none(),
    TRICKY_STRINGS,
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
)
LONG_KEYS = st.sampled_from(["k" * MAX_KEY_CHARS, "k" * (MAX_KEY_CHARS + 1), "k" * 1100])
KEYS = st.integers(0, 40).flatmap(  # a key over the limit now and then, not in every document
    lambda n: (
        LONG_KEYS
        if n == 0
        else st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=8), TRICKY_STRINGS)
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=10,
)


def deepen(data: Any, levels: int) -> Any:
    for level in range(levels):
        data = {f"k{level}": data} if level % 2 else [data]
    return data


DOCUMENTS = st.builds(
    lambda top, levels: {"top": deepen(top, levels)},
    st.dictionaries(KEYS, VALUES, max_size=4),
    st.sampled_from([0, 0, 0, 1, MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 3]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS, st.sampled_from([None, False, True]), st.booleans(), st.sampled_from([2, 4]))
def test_yaml_written_by_pyyaml_is_read_as_libyaml_reads_it_or_refused(
    data: Any, flow: bool | None, unicode: bool, indent: int
) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=unicode, indent=indent, width=80)
    check_yaml(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS, st.sampled_from([None, 1]), st.booleans())
def test_json_text_read_as_yaml_agrees_with_libyaml(data: Any, indent: int | None, ascii_only: bool) -> None:
    try:
        text = json.dumps(data, indent=indent, ensure_ascii=ascii_only)
    except ValueError:  # an integer json cannot write
        return
    check_yaml(text + "\n")


LINE_VALUES = st.sampled_from(
    ["+1000", "007", "0x1F", "0o17", "1_000", ".inf", "-.Inf", ".nan", "1e400", "1e3", "+1.5", "-0", "1" * 4301,
     "'x'", '"x\\ud800"', '"\\U0001F600"', "[a, +1, .inf]", "[1, [2, []]]", "{a: 1}", "{}", "[]", "{a: .nan}",
     "x # c", "&a 1", "*a", "!!str 1", "a: b", "[a, b", "|\n  text", ">-\n  text", "~", "", "yes", "2024-01-01"]
)  # fmt: skip
LINE_KEYS = st.sampled_from(["a", "b", "rules", "k" * (MAX_KEY_CHARS + 1), "'q'", '"d"', "? c", "1", "a b"])


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([-1, 0, 0, 1]), LINE_KEYS, LINE_VALUES), min_size=1, max_size=6), st.booleans()
)
@example([(0, "a", "+1000"), (0, "b", "[x, .nan")], False)
@example([(0, "k" * 1025, "1")], False)
@example([(0, "a", "1"), (1, "b", ".inf")], True)
def test_generated_yaml_lines_agree_with_libyaml(lines: list[tuple[int, str, str]], list_items: bool) -> None:
    """Block mappings (or lists of mappings) a few levels deep, of tricky keys and values."""
    text = ""
    depth = 0
    for step, (change, key, value) in enumerate(lines):
        nested = change > 0 and step > 0
        if nested:  # the previous entry holds this one: its value must be empty
            text = text.rstrip("\n").rsplit(": ", 1)[0] + ":\n"
        depth = max(0, depth + change) if step else 0
        indent = "  " * depth
        dash = "- " if list_items and nested else ""
        text += f"{indent}{dash}{key}: {value}\n"
    check_yaml(text)


# --- JSON: the reference is json.loads ----------------------------------------------------------

JSON_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1E400", "1" * (MAX_INT_DIGITS + 1), "9" * MAX_INT_DIGITS,
               '"\\ud800"', '"x\\udc00"', '"\\ud83d\\ude00"', '"\\ude00\\ud83d"', "-0", "-0.0", "1E5", "1e-400",
               "0.5e1", '"\\u0000"', '"\\/"', "[]", "{}", "true", "null"]  # fmt: skip
JSON_BROKEN = ["\u0661", "01", "+1", ".5", "1.", "-", "1e", "tru", "nul", "'x'", '"\t"', "[1,]", "{,}", "0x1F"]
JSON_VALUES = st.recursive(
    st.one_of(
        st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(), st.text(max_size=6)
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=10,
)


def reference_json(text: str) -> tuple[Any, Expected]:
    expected = Expected()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if len(set(keys)) < len(keys):
            expected.reasons.add("duplicate")
        if any(len(key) > MAX_KEY_CHARS for key in keys):
            expected.reasons.add("key")
        return dict(items)

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except ValueError:  # JSONDecodeError, or an integer past Python's digit limit
        expected.reasons.add("syntax")
        return NOT_READ, expected
    if not isinstance(data, dict):
        expected.reasons.add("top")

    def walk(value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            expected.reasons.add("depth")
        if isinstance(value, float) and not math.isfinite(value):
            expected.reasons.add("non-finite")
        if isinstance(value, str) and re.search("[\ud800-\udfff]", value):
            expected.reasons.add("surrogate")
        children = (
            list(value.items())
            if isinstance(value, dict)
            else list(enumerate(value))
            if isinstance(value, list)
            else []
        )
        for key, child in children:
            if isinstance(key, str) and re.search("[\ud800-\udfff]", key):
                expected.reasons.add("surrogate")
            walk(child, depth + 1)

    walk(data, 0)
    return data, expected


def json_text(data: Any, tokens: list[str], indent: int | None, ascii_only: bool) -> str:
    """json.dumps(data), with each '"@N"' string replaced by the raw token N."""
    text = json.dumps(data, indent=indent, ensure_ascii=ascii_only)
    for number, token in enumerate(tokens):
        text = text.replace(f'"@{number}"', token)
    return text


def with_tokens(data: Any, count: int) -> Any:
    """data with `count` of its values or keys replaced by placeholders '@0', '@1', ..."""
    slots = iter(range(count))

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return f"@{next(slots, -1)}"

    return walk(data)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(KEYS, JSON_VALUES, min_size=1, max_size=4),
    st.lists(st.sampled_from(JSON_TOKENS + JSON_BROKEN), max_size=3),
    st.sampled_from([None, 0, 2]),
    st.booleans(),
    st.integers(0, MAX_DEPTH + 2),
)
@example({"a": 1}, ["NaN"], None, True, 0)
@example({"a": 1}, ['"\\ud800"'], None, True, 0)
@example({"a": 1}, ["1" * (MAX_INT_DIGITS + 1)], None, True, 0)
def test_json_is_read_as_json_loads_reads_it_or_refused(
    data: dict[str, Any], tokens: list[str], indent: int | None, ascii_only: bool, levels: int
) -> None:
    if tokens:
        data = with_tokens(data, len(tokens))
    wrapped = {"top": deepen(data, levels)}
    text = json_text(wrapped, tokens, indent, ascii_only)
    reference, expected = reference_json(text)
    assert_loader_agrees(text, ".json", reference, expected)


NUMBER_TEXT = st.one_of(
    st.text(st.sampled_from('0123456789+-.eE \u0661"[]{},:\\utfalsn'), min_size=1, max_size=10),
    st.from_regex(r"-?(0|[1-9][0-9]{0,4})(\.[0-9]{1,3})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(JSON_TOKENS + JSON_BROKEN),
)


@settings(max_examples=400, deadline=None)
@given(NUMBER_TEXT)
@example("1.5E+3")
@example("-0")
@example("[1, 2]")
def test_json_numbers_and_literals_agree_with_json_loads(value: str) -> None:
    text = '{"v": ' + value + "}"
    reference, expected = reference_json(text)
    assert_loader_agrees(text, ".json", reference, expected)


# --- schema: the compiled predicate against jsonschema ------------------------------------------

BASE = {
    "configuredAudienceModelArn": ARN,
    "audienceModelArn": AUDIENCE_MODEL_ARN,
    "description": "Lookalikes",
    "minMatchingSeedSize": 1500,
    "sharedAudienceMetrics": ["NONE"],
    "outputConfig": {"destination": {"s3Destination": {"s3Uri": "s3://acme/x/"}}, "roleArn": ROLE_ARN},
    "audienceSizeConfig": {"audienceSizeType": "PERCENTAGE", "audienceSizeBins": [1, 100]},
}
FIELDS = [
    ("configuredAudienceModelArn",),
    ("audienceModelArn",),
    ("description",),
    ("minMatchingSeedSize",),
    ("sharedAudienceMetrics", 0),
    ("outputConfig", "destination", "s3Destination", "s3Uri"),
    ("outputConfig", "roleArn"),
    ("audienceSizeConfig", "audienceSizeType"),
    ("audienceSizeConfig", "audienceSizeBins", 0),
    ("audienceSizeConfig", "audienceSizeBins", 1),
]
EDGES = st.sampled_from(["", "\n", " ", "\x00", "\x07", "x", "\U0001f600", "\r\n", "\t"])
ODD_VALUES = st.one_of(
    st.booleans(),
    st.sampled_from([0, 1, 24, 25, 100, 101, 500000, 500001, 20000000, 20000001, -1]),
    st.sampled_from([1.0, 25.0, 100.0, 1e5, 500000.0, -0.0, 25.5, 1e308, 1.5]),
    st.builds(lambda edge, at_end: (ARN + edge) if at_end else (edge + ARN), EDGES, st.booleans()),
    st.builds(lambda edge: ROLE_ARN + edge, EDGES),
    st.builds(lambda edge: AUDIENCE_MODEL_ARN + edge, EDGES),
    st.builds(lambda edge: "s3://acme/" + edge, EDGES),
    st.builds(lambda edge: "ALL" + edge, EDGES),
    st.builds(lambda edge: "PERCENTAGE" + edge, EDGES),
    # lengths in code points: 254..256 characters, astral ones counting as one
    st.builds(lambda n, c: c * n, st.sampled_from([254, 255, 256]), st.sampled_from(["x", "\U0001f600", "\u00e9"])),
    st.text(max_size=4),
    st.none(),
    st.lists(st.integers(0, 2), max_size=2),
)


def replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(BASE))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FIELDS), ODD_VALUES), min_size=1, max_size=3))
@example([(("minMatchingSeedSize",), True)])
@example([(("minMatchingSeedSize",), 1500.0)])
@example([(("audienceSizeConfig", "audienceSizeBins", 1), 100.0)])
@example([(("configuredAudienceModelArn",), ARN + "\n")])
@example([(("description",), "\U0001f600" * 255)])
def test_compiled_predicate_agrees_with_jsonschema(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    data = json.loads(json.dumps(BASE))
    for path, value in changes:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    assert fast_validator(MODEL_SCHEMA)(data) == detailed_validator(MODEL_SCHEMA).is_valid(data), data


POLICY_EDGES = st.builds(
    lambda head, edge, at_end: head + edge if at_end else edge + head,
    st.sampled_from(
        ["111122223333", "us-east-1", "s3://acme/aud/", "2030-01-01", "models/**", "arn:aws:iam::1:role/*"]
    ),
    EDGES,
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(POLICY_EDGES, st.sampled_from([0, 1, 24, 25, 1000, True, 1000.0, 25.0]))
def test_compiled_predicate_agrees_with_jsonschema_on_policies(text: str, number: Any) -> None:
    policy = {
        "rules": {
            "min-matching-seed-size": number,
            "allowed-accounts": [text],
            "allowed-regions": [text],
            "allowed-s3-prefixes": [text],
            "allowed-role-arns": [text],
        },
        "overrides": [{"paths": [text], "rules": {"audience-size": {"max-bins": number}}}],
        "waivers": [{"path": text, "rule": "require-description", "reason": "a long reason", "expires": text}],
    }
    variants = [policy, *({"rules": {key: value}} for key, value in policy["rules"].items())]
    for variant in variants:
        assert fast_validator(POLICY_SCHEMA)(variant) == detailed_validator(POLICY_SCHEMA).is_valid(variant), variant


@pytest.mark.parametrize("value", [ARN + "\n", "\n" + ARN, ARN + "\n\n", f"x {ARN}"])
def test_a_line_break_around_an_arn_fails_both(value: str) -> None:
    data = replaced(("configuredAudienceModelArn",), value)
    assert (fast_validator(MODEL_SCHEMA)(data), detailed_validator(MODEL_SCHEMA).is_valid(data)) == (False, False)
