"""The JSON Schemas: drift guard against botocore, fast path vs jsonschema, and messages."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import botocore.loaders
import jsonschema
import pytest
from factories import ACCOUNT, ARN, AUDIENCE_MODEL_ARN, ROLE_ARN, VALID_MODEL, schema_patterns
from hypothesis import given, settings
from hypothesis import strategies as st
from test_check_cli import HOSTILE

from cam_gitops.check.schema import (
    MODEL_SCHEMA,
    POLICY_SCHEMA,
    detailed_validator,
    fast_validator,
    load_schema,
    validate,
)
from cam_gitops.loader import load_bytes

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "long": "integer",
    "boolean": "boolean",
    "list": "array",
    "structure": "object",
}
# botocore min/max -> JSON Schema keyword, per JSON type
BOUNDS = {"string": ("minLength", "maxLength"), "array": ("minItems", "maxItems"), "integer": ("minimum", "maximum")}
PERCENTAGE_RULE = {
    "if": {"properties": {"audienceSizeType": {"const": "PERCENTAGE"}}, "required": ["audienceSizeType"]},
    "then": {"properties": {"audienceSizeBins": {"items": {"maximum": 100}}}},
}


# --- drift guard --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes() -> dict[str, Any]:
    model = botocore.loaders.Loader().load_service_model("cleanroomsml", "service-2")
    return dict(model["shapes"])


def whole_value(pattern: str | None) -> str | None:
    """The anchoring rule: the schema states botocore's pattern P as ^(?:P)$(?!\\n).

    JSON Schema `pattern` searches, but the service validates the whole value. ^ and $ anchor
    in ECMA-262 and in Python alike; (?!\\n) stops Python's $ from matching before a final
    line break (ECMA-262 has no \\Z, Python's $ alone is not enough).
    """
    return None if pattern is None else f"^(?:{pattern})$(?!\\n)"


def _compare(shapes: dict[str, Any], shape_name: str, node: dict[str, Any], where: str, seen: list[str]) -> None:
    shape = shapes[shape_name]
    seen.append(where)
    json_type = JSON_TYPES[shape["type"]]
    assert node.get("type") == json_type, where
    assert node.get("enum") == shape.get("enum"), where
    assert node.get("pattern") == whole_value(shape.get("pattern")), f"{where}: pattern"
    low, high = BOUNDS.get(json_type, ("minLength", "maxLength"))
    assert node.get(low) == shape.get("min"), f"{where}: {low}"
    assert node.get(high) == shape.get("max"), f"{where}: {high}"
    # no bound keyword of another type sneaks in
    for other in {k for pair in BOUNDS.values() for k in pair} - {low, high}:
        assert other not in node, f"{where}: {other}"
    if json_type == "object":
        assert node.get("additionalProperties") is False, where
        assert set(node.get("required", [])) == set(shape.get("required", [])), where
        members = shape.get("members", {})
        properties = node.get("properties", {})
        assert set(properties) == set(members), where
        for name, member in members.items():
            assert properties[name].get("description", "").strip(), f"{where}.{name} has no description"
            _compare(shapes, member["shape"], properties[name], f"{where}.{name}", seen)
    elif json_type == "array":
        _compare(shapes, shape["member"]["shape"], node["items"], f"{where}[]", seen)
    else:
        assert "properties" not in node and "items" not in node, where


BESIDE = ("tags", "resourcePolicy")  # managed beside the update request, by their own operations


def request_schema() -> dict[str, Any]:
    """The model schema without the keys managed beside the update request."""
    schema: dict[str, Any] = json.loads((SCHEMAS / "configured-audience-model.schema.json").read_text())
    for key in BESIDE:
        del schema["properties"][key]
    return schema


def test_model_schema_states_exactly_botocores_constraints(shapes: dict[str, Any]) -> None:
    schema = request_schema()
    seen: list[str] = []
    _compare(shapes, "UpdateConfiguredAudienceModelRequest", schema, "request", seen)
    # the walk really went everywhere: the URI member and the deepest leaf included
    assert "request.configuredAudienceModelArn" in seen
    assert "request.outputConfig.destination.s3Destination.s3Uri" in seen
    assert "request.audienceSizeConfig.audienceSizeBins[]" in seen
    assert "request.sharedAudienceMetrics[]" in seen


def test_tags_follow_botocores_tag_shapes(shapes: dict[str, Any]) -> None:
    tags = json.loads((SCHEMAS / "configured-audience-model.schema.json").read_text())["properties"]["tags"]
    key, value = shapes["TagKey"], shapes["TagValue"]
    assert (tags["propertyNames"]["minLength"], tags["propertyNames"]["maxLength"]) == (key["min"], key["max"])
    assert tags["additionalProperties"]["maxLength"] == value["max"]
    # TagResource documents 50 tags per resource; botocore's TagMap only says 200 per call
    assert tags["maxProperties"] == 50 <= shapes["TagMap"]["max"]


def test_only_the_documented_percentage_rule_is_added_on_top() -> None:
    schema = json.loads((SCHEMAS / "configured-audience-model.schema.json").read_text())
    size = schema["properties"]["audienceSizeConfig"]
    assert {k: size[k] for k in ("if", "then")} == PERCENTAGE_RULE
    assert "else" not in size


def test_drift_guard_notices_a_changed_bound(shapes: dict[str, Any]) -> None:
    schema = request_schema()
    schema["properties"]["minMatchingSeedSize"]["maximum"] = 400000
    with pytest.raises(AssertionError, match="minMatchingSeedSize: maximum"):
        _compare(shapes, "UpdateConfiguredAudienceModelRequest", schema, "request", [])


def test_drift_guard_notices_a_changed_pattern(shapes: dict[str, Any]) -> None:
    schema = request_schema()
    changed = copy.deepcopy(shapes)
    member = changed["UpdateConfiguredAudienceModelRequest"]["members"]["configuredAudienceModelArn"]["shape"]
    changed[member]["pattern"] = changed[member]["pattern"].replace("[0-9]{12}", "[0-9]{10}")
    with pytest.raises(AssertionError, match="configuredAudienceModelArn: pattern"):
        _compare(changed, "UpdateConfiguredAudienceModelRequest", schema, "request", [])
    # and an unanchored pattern, as botocore writes it, is not accepted as equal
    schema["properties"]["description"]["pattern"] = shapes[
        shapes["UpdateConfiguredAudienceModelRequest"]["members"]["description"]["shape"]
    ]["pattern"]
    with pytest.raises(AssertionError, match="description: pattern"):
        _compare(shapes, "UpdateConfiguredAudienceModelRequest", schema, "request", [])


@pytest.mark.parametrize("name", [MODEL_SCHEMA, POLICY_SCHEMA])
def test_every_pattern_in_our_schemas_is_a_whole_value_match(name: str) -> None:
    patterns = schema_patterns(load_schema(name))
    assert len(patterns) >= 4
    for pattern in patterns:
        assert pattern.startswith("^(?:") and pattern.endswith(")$(?!\\n)"), pattern
        inner = pattern[len("^(?:") : -len(")$(?!\\n)")]
        assert whole_value(inner) == pattern


@pytest.mark.parametrize("name", [MODEL_SCHEMA, POLICY_SCHEMA])
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


def test_every_policy_schema_property_has_a_description() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, child in node.get("properties", {}).items():
                assert child.get("description", "").strip() or "$ref" in child, f"{where}.{key}"
            for key, child in node.items():
                walk(child, f"{where}.{key}")
        elif isinstance(node, list):
            for child in node:
                walk(child, where)

    walk(load_schema(POLICY_SCHEMA), "policy")


# --- fast path and jsonschema agree -------------------------------------------------------------


def _agree(name: str, data: Any) -> bool:
    fast = fast_validator(name)(data)
    slow = detailed_validator(name).is_valid(data)
    assert fast == slow, f"fast={fast} jsonschema={slow} for {data!r}"
    return fast


def _valid() -> dict[str, Any]:
    return load_bytes(VALID_MODEL.encode(), "m.yaml", ".yaml").document.data  # type: ignore[union-attr]


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = _valid()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    data = _valid()
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


BINS = ("audienceSizeConfig", "audienceSizeBins")
SIZE = ("audienceSizeConfig",)
HAND_MADE: list[tuple[str, Any, bool]] = [
    ("valid", _valid(), True),
    ("only the arn", {"configuredAudienceModelArn": ARN}, True),
    ("empty", {}, False),
    ("seed 25", _with(("minMatchingSeedSize",), 25), True),
    ("seed 24", _with(("minMatchingSeedSize",), 24), False),
    ("seed 500000", _with(("minMatchingSeedSize",), 500000), True),
    ("seed 500001", _with(("minMatchingSeedSize",), 500001), False),
    ("seed float", _with(("minMatchingSeedSize",), 1500.0), False),
    ("seed bool", _with(("minMatchingSeedSize",), True), False),
    ("seed string", _with(("minMatchingSeedSize",), "1500"), False),
    ("percentage 100", _with(SIZE, {"audienceSizeType": "PERCENTAGE", "audienceSizeBins": [1, 100]}), True),
    ("percentage 101", _with(SIZE, {"audienceSizeType": "PERCENTAGE", "audienceSizeBins": [1, 101]}), False),
    ("absolute 101", _with(SIZE, {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [101]}), True),
    ("bins 20000001", _with(BINS, [20000001]), False),
    ("bins 0", _with(BINS, [0]), False),
    ("no bins", _with(BINS, []), False),
    ("25 bins", _with(BINS, list(range(1, 26))), True),
    ("26 bins", _with(BINS, list(range(1, 27))), False),
    ("lowercase type", _with(("audienceSizeConfig", "audienceSizeType"), "absolute"), False),
    ("size without type", _without(("audienceSizeConfig", "audienceSizeType")), False),
    ("metrics two", _with(("sharedAudienceMetrics",), ["ALL", "NONE"]), False),
    ("metrics none", _with(("sharedAudienceMetrics",), []), False),
    ("metrics string", _with(("sharedAudienceMetrics",), "NONE"), False),
    ("description 255", _with(("description",), "x" * 255), True),
    ("description 256", _with(("description",), "x" * 256), False),
    ("description empty", _with(("description",), ""), True),
    ("description null", _with(("description",), None), False),
    ("no role", _without(("outputConfig", "roleArn")), False),
    ("role of another service", _with(("outputConfig", "roleArn"), AUDIENCE_MODEL_ARN), False),
    ("s3 uri without scheme", _with(("outputConfig", "destination", "s3Destination", "s3Uri"), "acme/x"), False),
    ("extra key", {**_valid(), "name": "x"}, False),
    ("tags", {**_valid(), "tags": {"team": "retail", "empty": ""}}, True),
    ("a reserved tag key", {**_valid(), "tags": {"AWS:team": "x"}}, False),
    ("an empty tag key", {**_valid(), "tags": {"": "x"}}, False),
    ("a tag value too long", {**_valid(), "tags": {"k": "v" * 257}}, False),
    ("51 tags", {**_valid(), "tags": {f"k{i}": "v" for i in range(51)}}, False),
    ("a tag value not a string", {**_valid(), "tags": {"k": 1}}, False),
    ("no resource policy", {**_valid(), "resourcePolicy": None}, True),
    (
        "a resource policy",
        {
            **_valid(),
            "resourcePolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": ["111122223333"]}, "Action": "cleanrooms-ml:*"},
                    {"Effect": "Deny", "Principal": "*", "NotAction": ["a:b"], "Resource": "*"},
                ],
            },
        },
        True,
    ),
    ("a policy without statements", {**_valid(), "resourcePolicy": {"Version": "2012-10-17"}}, False),
    ("an empty statement list", {**_valid(), "resourcePolicy": {"Statement": []}}, False),
    ("a statement without effect", {**_valid(), "resourcePolicy": {"Statement": [{"Action": "a"}]}}, False),
    ("an unknown statement key", {**_valid(), "resourcePolicy": {"Statement": [{"Effect": "Allow", "X": 1}]}}, False),
    (
        "an empty principal",
        {**_valid(), "resourcePolicy": {"Statement": [{"Effect": "Allow", "Principal": {}}]}},
        False,
    ),
    ("a policy as a string", {**_valid(), "resourcePolicy": "{}"}, False),
    ("wrong case key", {**_without(("description",)), "Description": "x"}, False),
    ("nested extra key", _with(("outputConfig", "destination", "s3Destination", "bucket"), "x"), False),
    ("arn 2048", {"configuredAudienceModelArn": ARN + "x" * (2048 - len(ARN))}, True),
    ("arn 2049", {"configuredAudienceModelArn": ARN + "x" * (2049 - len(ARN))}, False),
    ("top level list", [_valid()], False),
]


def _hostile_documents() -> list[tuple[str, Any]]:
    found = []
    for case, name, content, _expected, _code in HOSTILE:
        raw = content if isinstance(content, bytes) else content.encode()
        document = load_bytes(raw, name, Path(name).suffix).document
        if document is not None:
            found.append((case, document.data))
    return found


HOSTILE_DOCUMENTS = _hostile_documents()


def test_some_hostile_cases_reach_the_schema() -> None:
    # guards the next test against silently checking nothing
    assert {"quoted integer", "float integer", "yes for integer", "unknown key", "json float"} <= {
        case for case, _ in HOSTILE_DOCUMENTS
    }


@pytest.mark.parametrize(("case", "data"), HOSTILE_DOCUMENTS, ids=[c for c, _ in HOSTILE_DOCUMENTS])
def test_fast_path_agrees_with_jsonschema_on_hostile_input(case: str, data: Any) -> None:
    _agree(MODEL_SCHEMA, data)


@pytest.mark.parametrize(("case", "data", "valid"), HAND_MADE, ids=[c for c, _, _ in HAND_MADE])
def test_fast_path_agrees_with_jsonschema_on_hand_made_documents(case: str, data: Any, valid: bool) -> None:
    assert _agree(MODEL_SCHEMA, data) is valid


WRONG_TYPES = st.one_of(
    st.text(max_size=4),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _string_of(lengths: list[int], head: str) -> st.SearchStrategy[str]:
    return st.sampled_from(lengths).map(lambda n: (head + "x" * n)[:n] if n >= len(head) else "a" * n)


def _mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid four times in five, so that whole documents are often valid too."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 0 else valid)


ARN_VALUES = _mostly(
    st.sampled_from([ARN, ARN + "x" * (2048 - len(ARN))]),
    st.one_of(_string_of([19, 20, 2049], ARN), st.just("arn:aws:s3:::b"), WRONG_TYPES),
)
AUDIENCE_ARN_VALUES = _mostly(
    st.just(AUDIENCE_MODEL_ARN),
    st.one_of(_string_of([19, 20, 2048, 2049], AUDIENCE_MODEL_ARN), st.just(ARN), WRONG_TYPES),
)
ROLE_VALUES = _mostly(st.just(ROLE_ARN), st.one_of(_string_of([19, 20, 2048, 2049], ROLE_ARN), WRONG_TYPES))
S3_VALUES = _mostly(
    st.sampled_from(["s3://acme/x/", "s3://b"]),
    st.one_of(st.sampled_from(["s3://", "", "http://x"]), _string_of([1, 1285, 1286], "s3://acme/"), WRONG_TYPES),
)
SEED_VALUES = _mostly(st.sampled_from([25, 1500, 500000]), st.one_of(st.sampled_from([24, 500001, -1, 0]), WRONG_TYPES))
BIN_VALUES = _mostly(
    st.sampled_from([1, 50, 100, 101, 20000000]), st.one_of(st.sampled_from([0, 20000001]), WRONG_TYPES)
)
BIN_LISTS = _mostly(
    st.lists(BIN_VALUES, min_size=1, max_size=3),
    st.one_of(
        st.sampled_from([0, 1, 25, 26]).flatmap(lambda n: st.lists(BIN_VALUES, min_size=n, max_size=n)), WRONG_TYPES
    ),
)
SIZE_TYPES = _mostly(
    st.sampled_from(["ABSOLUTE", "PERCENTAGE"]),
    st.one_of(st.sampled_from(["percentage", "Absolute", "OTHER"]), WRONG_TYPES),
)
DESCRIPTIONS = _mostly(
    st.one_of(_string_of([0, 1, 255], "Lookalikes "), st.just("tab\there")),
    st.one_of(_string_of([256], "Lookalikes "), WRONG_TYPES),
)
METRICS = _mostly(
    st.lists(st.sampled_from(["ALL", "NONE"]), min_size=1, max_size=1),
    st.one_of(st.lists(st.sampled_from(["ALL", "NONE", "all", "SOME"]), max_size=2), WRONG_TYPES),
)
EXTRA_KEYS = st.dictionaries(
    st.sampled_from(["Description", "minmatchingseedsize", "tags", "audienceSizeconfig", "extra"]),
    WRONG_TYPES,
    min_size=1,
    max_size=2,
)


def _mapping(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    base = st.fixed_dictionaries(required, optional=optional)
    return _mostly(base, st.one_of(st.builds(lambda data, extra: {**data, **extra}, base, EXTRA_KEYS), WRONG_TYPES))


SIZE_CONFIGS = _mapping({}, {"audienceSizeType": SIZE_TYPES, "audienceSizeBins": BIN_LISTS})
OUTPUT_CONFIGS = _mapping(
    {},
    {
        "destination": _mapping({}, {"s3Destination": _mapping({}, {"s3Uri": S3_VALUES})}),
        "roleArn": ROLE_VALUES,
    },
)
DOCUMENTS = _mapping(
    {"configuredAudienceModelArn": ARN_VALUES},
    {
        "description": DESCRIPTIONS,
        "audienceModelArn": AUDIENCE_ARN_VALUES,
        "minMatchingSeedSize": SEED_VALUES,
        "sharedAudienceMetrics": METRICS,
        "outputConfig": OUTPUT_CONFIGS,
        "audienceSizeConfig": SIZE_CONFIGS,
    },
)


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS)
def test_fast_path_agrees_with_jsonschema_on_generated_models(data: Any) -> None:
    _agree(MODEL_SCHEMA, data)


POLICY_RULES = _mapping(
    {},
    {
        "min-matching-seed-size": _mostly(
            st.sampled_from([25, 1000, 500000]), st.one_of(st.sampled_from([24, 500001]), WRONG_TYPES)
        ),
        "allowed-s3-prefixes": _mostly(
            st.lists(st.sampled_from(["s3://acme/aud/", "s3://acm"]), min_size=1),
            st.one_of(st.lists(st.sampled_from(["s3://a", "s3://Acme/", "acme/"]), max_size=1), WRONG_TYPES),
        ),
        "allowed-accounts": _mostly(
            st.just([ACCOUNT]), st.one_of(st.sampled_from([["1234"], [111122223333], []]), WRONG_TYPES)
        ),
        "audience-size": _mapping(
            {},
            {
                "max-bins": _mostly(st.sampled_from([1, 25]), st.one_of(st.sampled_from([0, 26]), WRONG_TYPES)),
                "max-percentage": _mostly(st.sampled_from([1, 100]), st.one_of(st.sampled_from([0, 101]), WRONG_TYPES)),
                "allowed-types": _mostly(st.lists(SIZE_TYPES, min_size=1, max_size=2), WRONG_TYPES),
            },
        ),
        "require-description": _mostly(st.booleans(), WRONG_TYPES),
    },
)
WAIVERS = _mapping(
    {
        "path": _mostly(st.just("models/a.yaml"), st.one_of(st.just(""), WRONG_TYPES)),
        "rule": _mostly(
            st.just("require-description"), st.one_of(st.sampled_from(["schema", "Require-description"]), WRONG_TYPES)
        ),
        "reason": _mostly(st.just("a good long reason"), st.one_of(st.just("short"), WRONG_TYPES)),
        "expires": _mostly(st.sampled_from(["2030-01-01", "2030-02-30"]), st.one_of(st.just("2030-1-1"), WRONG_TYPES)),
    },
    {"approved-by": _mostly(st.just("privacy"), WRONG_TYPES)},
)
OVERRIDES = _mapping(
    {
        "paths": _mostly(st.just(["models/**"]), st.one_of(st.sampled_from([[], [""]]), WRONG_TYPES)),
        "rules": POLICY_RULES,
    },
    {},
)
POLICIES = _mapping(
    {},
    {
        "rules": POLICY_RULES,
        "overrides": _mostly(st.lists(OVERRIDES, max_size=2), WRONG_TYPES),
        "waivers": _mostly(st.lists(WAIVERS, max_size=2), WRONG_TYPES),
    },
)


@settings(max_examples=300, deadline=None)
@given(POLICIES)
def test_fast_path_agrees_with_jsonschema_on_generated_policies(data: Any) -> None:
    _agree(POLICY_SCHEMA, data)


# --- messages ----------------------------------------------------------------------------------


def _messages(text: str, suffix: str = ".yaml") -> list[tuple[int, int, str]]:
    loaded = load_bytes(textwrap.dedent(text).encode(), f"m{suffix}", suffix)
    assert loaded.document is not None, loaded.findings
    findings = validate(loaded.document, MODEL_SCHEMA)
    assert all(f.rule == "schema" and f.path == f"m{suffix}" for f in findings)
    return sorted((f.position.line, f.position.column, f.message) for f in findings)


def _model(**lines: str) -> str:
    """VALID_MODEL with whole top-level lines replaced by key."""
    out = []
    for line in VALID_MODEL.splitlines():
        key = line.split(":", 1)[0]
        out.append(lines.pop(key) if key in lines else line)
    return "\n".join([*out, *lines.values()]) + "\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'minMatchingSeedSize: "1500"',
            'minMatchingSeedSize must be an integer, got the quoted string "1500"; remove the quotes',
        ),
        (
            "minMatchingSeedSize: 0x5DC",
            'minMatchingSeedSize must be an integer, got "0x5DC"; only plain decimal digits make an integer '
            "(no +, 0x, _, leading zeros or words)",
        ),
        (
            "minMatchingSeedSize: +1500",
            'minMatchingSeedSize must be an integer, got "+1500"; only plain decimal digits make an integer '
            "(no +, 0x, _, leading zeros or words)",
        ),
        (
            "minMatchingSeedSize: 1500.0",
            "minMatchingSeedSize must be an integer, got 1500.0; write 1500 without a decimal point",
        ),
        (
            "minMatchingSeedSize: ~",
            "minMatchingSeedSize must be an integer, got nothing (null); give a value or remove the key",
        ),
        ("minMatchingSeedSize: 24", "minMatchingSeedSize must be at least 25, got 24"),
        ("minMatchingSeedSize: 500001", "minMatchingSeedSize must be at most 500000, got 500001"),
    ],
)
def test_integer_messages_say_what_is_allowed(line: str, message: str) -> None:
    assert _messages(_model(minMatchingSeedSize=line)) == [(4, 22, message)]


def test_string_type_message_says_to_quote() -> None:
    assert _messages(_model(description="description: 2024")) == [
        (2, 14, "description must be a string, got 2024; quote it to make it a string")
    ]


def test_enum_message_gives_the_case_hint() -> None:
    text = VALID_MODEL.replace("audienceSizeType: ABSOLUTE", "audienceSizeType: absolute")
    assert _messages(text) == [
        (
            12,
            21,
            'audienceSizeConfig.audienceSizeType must be one of ABSOLUTE, PERCENTAGE, got "absolute" '
            "(values are case-sensitive: write ABSOLUTE)",
        )
    ]


def test_length_item_count_and_pattern_messages() -> None:
    text = _model(
        description=f"description: {'x' * 256}",
        sharedAudienceMetrics="sharedAudienceMetrics: [ALL, NONE]",
        audienceModelArn=f"audienceModelArn: {ARN}",
    ).replace("[50000, 100000]", "[]")
    assert _messages(text) == [
        (2, 14, "description must be at most 255 characters long, got 256"),
        (
            3,
            19,
            "audienceModelArn must match the pattern "
            "arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:audience-model/[-a-zA-Z0-9_/.]+ as a whole, "
            f'got "{ARN[:57]}..."',
        ),
        (5, 24, "sharedAudienceMetrics must have at most 1 item, got 2"),
        (13, 21, "audienceSizeConfig.audienceSizeBins must have at least 1 item, got 0"),
    ]


def test_required_messages_point_at_the_parent_key() -> None:
    text = "\n".join(line for line in VALID_MODEL.splitlines() if "roleArn" not in line)
    assert _messages(text) == [(6, 1, "outputConfig is missing required key 'roleArn'")]
    assert _messages("description: x\n") == [(1, 1, "the file is missing required key 'configuredAudienceModelArn'")]


def test_unknown_key_messages_suggest_the_right_key() -> None:
    text = VALID_MODEL.replace("  roleArn:", "  rolearn:") + "descripton: typo\nzzz: 1\n"
    assert _messages(text) == [
        (6, 1, "outputConfig is missing required key 'roleArn'"),
        (10, 3, "unknown key 'rolearn' in outputConfig; did you mean 'roleArn'? (keys are case-sensitive)"),
        (14, 1, "unknown key 'descripton'; did you mean 'description'?"),
        (
            15,
            1,
            "unknown key 'zzz'; allowed keys: audienceModelArn, audienceSizeConfig, configuredAudienceModelArn, "
            "description, minMatchingSeedSize, outputConfig, resourcePolicy, sharedAudienceMetrics, tags",
        ),
    ]


def test_percentage_bins_over_100_say_when() -> None:
    text = VALID_MODEL.replace("ABSOLUTE", "PERCENTAGE").replace("[50000, 100000]", "[5, 101]")
    assert _messages(text) == [
        (
            13,
            25,
            "audienceSizeConfig.audienceSizeBins[1] must be at most 100 when audienceSizeType is PERCENTAGE, got 101",
        ),
    ]
    json_text = json.dumps(
        {
            "configuredAudienceModelArn": ARN,
            "audienceSizeConfig": {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [20000001]},
        },
        indent=1,
    )
    assert _messages(json_text, ".json") == [
        (6, 4, "audienceSizeConfig.audienceSizeBins[0] must be at most 20000000, got 20000001"),
    ]
