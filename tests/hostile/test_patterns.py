"""Patterns are whole-value matches: in the schemas, in the compiled predicate and in jsonschema.

Seen: the model schema's patterns (copied from botocore) searched, so 'not an arn; arn:...'
passed and the description pattern admitted NUL and BEL; in the policy schema ^[0-9]{12}$
accepted "111122223333\\n" (Python's $ matches before a final line break).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import ACCOUNT, ARN, AUDIENCE_MODEL_ARN, ROLE_ARN, VALID_MODEL, schema_patterns, write_repo

from cam_gitops.check.compiled import ascii_part_of_star_class
from cam_gitops.check.schema import MODEL_SCHEMA, POLICY_SCHEMA, detailed_validator, fast_validator, load_schema
from cam_gitops.cli import cli

S3 = ("outputConfig", "destination", "s3Destination", "s3Uri")


def model(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "configuredAudienceModelArn": ARN,
        "audienceModelArn": AUDIENCE_MODEL_ARN,
        "description": "Spring lookalikes",
        "outputConfig": {"destination": {"s3Destination": {"s3Uri": "s3://acme/x/"}}, "roleArn": ROLE_ARN},
    }
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def verdicts(name: str, data: Any) -> tuple[bool, bool]:
    return fast_validator(name)(data), detailed_validator(name).is_valid(data)


REFUSED = [
    ("text before an arn", ("configuredAudienceModelArn",), f"not an arn; {ARN}"),
    ("text after an arn", ("configuredAudienceModelArn",), f"{ARN} and more"),
    ("trailing newline on an arn", ("configuredAudienceModelArn",), f"{ARN}\n"),
    ("newline inside an arn", ("configuredAudienceModelArn",), ARN.replace("demo-0001", "demo\n0001")),
    ("audience model arn inside text", ("audienceModelArn",), f"x{AUDIENCE_MODEL_ARN}"),
    ("trailing newline on an audience model arn", ("audienceModelArn",), f"{AUDIENCE_MODEL_ARN}\n"),
    ("role arn after text", ("outputConfig", "roleArn"), f"see {ROLE_ARN}"),
    ("trailing newline on a role arn", ("outputConfig", "roleArn"), f"{ROLE_ARN}\n"),
    ("newline inside a role arn", ("outputConfig", "roleArn"), f"{ROLE_ARN}\nrole/admin"),
    ("s3 uri after text", S3, "see s3://acme/x/"),
    ("trailing newline on an s3 uri", S3, "s3://acme/x/\n"),
    ("newline inside an s3 uri", S3, "s3://acme/x/\n::error::boom"),
    ("NUL in a description", ("description",), "a\x00b"),
    ("BEL in a description", ("description",), "ding\x07"),
    ("escape in a description", ("description",), "\x1b[31mred"),
    ("astral character in a description", ("description",), "Lookalikes \U0001f600"),
]
ACCEPTED = [
    ("a description ending in a newline", ("description",), "Spring lookalikes\n"),
    ("a multi-line description", ("description",), "line one\r\nline two\ttabbed\n\n"),
    ("an empty description", ("description",), ""),
    ("a non-ASCII description", ("description",), "caf\u00e9 \u2014 \ufffd"),
    ("a role with a path", ("outputConfig", "roleArn"), f"arn:aws:iam::{ACCOUNT}:role/team/writer"),
]


@pytest.mark.parametrize(("case", "path", "value"), REFUSED, ids=[c[0] for c in REFUSED])
def test_model_patterns_refuse_what_only_part_of_the_value_matches(
    case: str, path: tuple[str, ...], value: str
) -> None:
    assert verdicts(MODEL_SCHEMA, model(path, value)) == (False, False)


@pytest.mark.parametrize(("case", "path", "value"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_model_patterns_accept_whole_values(case: str, path: tuple[str, ...], value: str) -> None:
    assert verdicts(MODEL_SCHEMA, model(path, value)) == (True, True)


POLICY_REFUSED = [
    ("account with a trailing newline", {"allowed-accounts": [f"{ACCOUNT}\n"]}),
    ("account inside text", {"allowed-accounts": [f"x{ACCOUNT}"]}),
    ("region with a trailing newline", {"allowed-regions": ["us-east-1\n"]}),
    ("s3 prefix with a trailing newline", {"allowed-s3-prefixes": ["s3://acme/aud/\n"]}),
    ("role glob with a newline", {"allowed-role-arns": [f"arn:aws:iam::{ACCOUNT}:role/*\n"]}),
    ("role glob with a control character", {"allowed-role-arns": [f"arn:aws:iam::{ACCOUNT}:role/\x1b*"]}),
]


@pytest.mark.parametrize(("case", "rules"), POLICY_REFUSED, ids=[c[0] for c in POLICY_REFUSED])
def test_policy_patterns_are_whole_value_matches(case: str, rules: dict[str, Any]) -> None:
    assert verdicts(POLICY_SCHEMA, {"rules": rules}) == (False, False)
    waiver = {
        "path": "models/a.yaml\n",
        "rule": "require-description",
        "reason": "a long reason",
        "expires": "2030-01-01",
    }
    assert verdicts(POLICY_SCHEMA, {"rules": {}, "waivers": [waiver]}) == (False, False)
    assert verdicts(
        POLICY_SCHEMA, {"rules": {}, "waivers": [{**waiver, "path": "models/a.yaml", "expires": "2030-01-01\n"}]}
    ) == (
        False,
        False,
    )


ALL_PATTERNS = sorted({p for name in (MODEL_SCHEMA, POLICY_SCHEMA) for p in schema_patterns(load_schema(name))})


VALID_VALUES = [ARN, AUDIENCE_MODEL_ARN, ROLE_ARN, "s3://acme/aud/", ACCOUNT, "us-east-1", "2030-01-01", "Lookalikes"]


@pytest.mark.parametrize("pattern", ALL_PATTERNS)
def test_no_pattern_accepts_a_value_with_a_line_break_added_at_the_end(pattern: str) -> None:
    accepted = [value for value in VALID_VALUES if re.search(pattern, value)]
    assert accepted, f"no sample value for {pattern}"
    admits_line_breaks = pattern.endswith("\\n]*)$(?!\\n)")  # the description's class holds \n itself
    for value in accepted:
        assert (re.search(pattern, value + "\n") is not None) is admits_line_breaks, (pattern, value)


@pytest.mark.parametrize("pattern", [p for p in ALL_PATTERNS if ascii_part_of_star_class(p) is not None])
def test_the_ascii_shortcut_of_a_class_pattern_agrees_with_the_regex(pattern: str) -> None:
    allowed = ascii_part_of_star_class(pattern)
    assert allowed is not None
    assert [chr(c) for c in range(128) if chr(c) in allowed] == [
        chr(c) for c in range(128) if re.search(pattern, chr(c))
    ]


def test_the_description_pattern_is_the_class_pattern_the_shortcut_serves() -> None:
    description = load_schema(MODEL_SCHEMA)["properties"]["description"]["pattern"]
    assert ascii_part_of_star_class(description) is not None
    assert ascii_part_of_star_class("^(?:[a-z]*)$") is None  # not anchored by our rule
    assert ascii_part_of_star_class("^(?:[^a-z]*)$(?!\\n)") is None  # negated
    assert ascii_part_of_star_class("^(?:[\\d]*)$(?!\\n)") is None  # a class escape


# --- what a user sees --------------------------------------------------------------------------


def check(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[dict[str, Any]]]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(cli, ["check", "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)["violations"]


def test_an_arn_after_other_text_fails_check_where_it_stands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = VALID_MODEL.replace(f"configuredAudienceModelArn: {ARN}", f"configuredAudienceModelArn: 'not an arn; {ARN}'")
    root = write_repo(tmp_path, {"models/m.yaml": text}, policy={"rules": {}})
    code, found = check(root, monkeypatch)
    assert code == 1
    assert [(f["rule"], f["line"], f["column"]) for f in found] == [("schema", 1, 29)]
    assert found[0]["message"].endswith("; only part of it matches: the whole value must")


def test_a_control_character_in_a_description_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = VALID_MODEL.replace("description: Spring lookalikes", 'description: "Spring\\a lookalikes"')
    root = write_repo(tmp_path, {"models/m.yaml": text}, policy={"rules": {}})
    code, found = check(root, monkeypatch)
    assert (code, [(f["rule"], f["line"], f["column"]) for f in found]) == (1, [("schema", 2, 14)])
    assert found[0]["message"].endswith("; character 7 (\\x07, U+0007) is not allowed here: remove it")


def test_an_account_with_a_line_break_is_a_policy_error_not_a_failure_of_every_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_repo(
        tmp_path, {"models/m.yaml": VALID_MODEL}, policy='rules:\n  allowed-accounts: ["111122223333\\n"]\n'
    )
    code, found = check(root, monkeypatch)
    assert code == 4
    assert [(f["path"], f["rule"], f["line"], f["column"]) for f in found] == [("policy.yaml", "policy", 2, 22)]
    assert found[0]["message"] == (
        "rules.allowed-accounts[0] must match the pattern [0-9]{12} as a whole, "
        'got the quoted string "111122223333\\n"; remove the line break at the end'
    )
