"""Rules on tags and resource policies: one table per rule of (case, file, rule value, findings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import VALID_MODEL

from cam_gitops.check.checker import check_file
from cam_gitops.check.policy import Policy, pattern_problem
from cam_gitops.workspace.layout import ModelFile

PARTNER = "444455556666"


def findings(tmp_path: Path, extra: dict[str, Any], rules: dict[str, Any]) -> list[tuple[str, str]]:
    data = {**yaml.safe_load(VALID_MODEL), **extra}
    path = tmp_path / "models" / "m.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    result = check_file(ModelFile(path, "models/m.json"), Policy("policy.yaml", rules))
    return [(f.rule, f.message) for f in result.findings]


def policy_doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, action: Any = "cleanrooms-ml:GetConfiguredAudienceModel") -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action}


TAGS = "required-tags"
TAG_RULE = {"team": {}, "owner": {"pattern": "[a-z][a-z0-9-]*"}, "env": {"values": ["prod", "test"]}}
TAG_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("all present and right", {"tags": {"team": "retail", "owner": "ana-b", "env": "prod", "x": "y"}}, []),
    ("tags not managed", {}, ["tags are not set; policy requires the tags env, owner, team"]),
    ("one missing", {"tags": {"team": "retail", "owner": "ana"}}, ["tag env is required by policy"]),
    ("pattern is a whole match", {"tags": {"team": "t", "owner": "ana!", "env": "test"}}, ["owner is ana!"]),
    ("value not listed", {"tags": {"team": "t", "owner": "ana", "env": "dev"}}, ["policy allows: prod, test"]),
    ("empty value is present", {"tags": {"team": "", "owner": "ana", "env": "prod"}}, []),
]


@pytest.mark.parametrize(("case", "extra", "expected"), TAG_CASES, ids=[c[0] for c in TAG_CASES])
def test_required_tags(tmp_path: Path, case: str, extra: dict[str, Any], expected: list[str]) -> None:
    found = findings(tmp_path, extra, {TAGS: TAG_RULE})
    assert [rule for rule, _ in found] == [TAGS] * len(expected)
    for (_, message), fragment in zip(found, expected, strict=True):
        assert fragment in message


PRINCIPALS = "allowed-principals"
PRINCIPAL_CASES: list[tuple[str, dict[str, Any], Any, list[str]]] = [
    ("an allowed account", policy_doc(allow({"AWS": PARTNER})), [PARTNER], []),
    ("an account as its root arn", policy_doc(allow({"AWS": f"arn:aws:iam::{PARTNER}:root"})), [PARTNER], []),
    (
        "a role glob",
        policy_doc(allow({"AWS": [f"arn:aws:iam::{PARTNER}:role/partner-a"]})),
        [f"arn:aws:iam::{PARTNER}:role/partner-*"],
        [],
    ),
    (
        "a glob never crosses a slash",
        policy_doc(allow({"AWS": f"arn:aws:iam::{PARTNER}:role/partner-a/Admin"})),
        [f"arn:aws:iam::{PARTNER}:role/partner-*"],
        ["is not allowed"],
    ),
    (
        "another account",
        policy_doc(allow({"AWS": "999988887777"})),
        [PARTNER],
        ["principal 999988887777 is not allowed"],
    ),
    ("a wildcard", policy_doc(allow("*")), [PARTNER], ['a wildcard principal ("*")']),
    ("a wildcard as AWS", policy_doc(allow({"AWS": "*"})), [PARTNER], ['("*" as AWS)']),
    ("a wildcard allowed", policy_doc(allow("*")), ["*"], []),
    ("a wildcard without the rule", policy_doc(allow("*")), None, ['a wildcard principal ("*")']),
    ("an account without the rule", policy_doc(allow({"AWS": "999988887777"})), None, []),
    ("deny statements grant nothing", policy_doc({"Effect": "Deny", "Principal": "*", "Action": "*"}), [PARTNER], []),
    (
        "NotPrincipal grants everyone else",
        policy_doc({"Effect": "Allow", "NotPrincipal": {"AWS": PARTNER}, "Action": "a:b"}),
        [PARTNER],
        ["NotPrincipal grants every principal"],
    ),
    ("no policy", {}, [PARTNER], []),
]


@pytest.mark.parametrize(
    ("case", "document", "allowed", "expected"), PRINCIPAL_CASES, ids=[c[0] for c in PRINCIPAL_CASES]
)
def test_allowed_principals(
    tmp_path: Path, case: str, document: dict[str, Any], allowed: Any, expected: list[str]
) -> None:
    extra = {"resourcePolicy": document} if document else {}
    rules = {PRINCIPALS: allowed} if allowed is not None else {}
    found = findings(tmp_path, extra, rules)
    assert [rule for rule, _ in found] == [PRINCIPALS] * len(expected)
    for (_, message), fragment in zip(found, expected, strict=True):
        assert fragment in message


ACTIONS = "allowed-actions"
ACTION_CASES: list[tuple[str, Any, list[str]]] = [
    ("an allowed action", "cleanrooms-ml:GetConfiguredAudienceModel", []),
    ("a glob, any case", ["CleanRooms-ML:StartAudienceGenerationJob"], []),
    (
        "not allowed",
        ["cleanrooms-ml:DeleteConfiguredAudienceModel"],
        ["action cleanrooms-ml:DeleteConfiguredAudienceModel"],
    ),
    ("a wildcard action", "cleanrooms-ml:*", ["action cleanrooms-ml:* is not allowed"]),
]


@pytest.mark.parametrize(("case", "action", "expected"), ACTION_CASES, ids=[c[0] for c in ACTION_CASES])
def test_allowed_actions(tmp_path: Path, case: str, action: Any, expected: list[str]) -> None:
    rules = {ACTIONS: ["cleanrooms-ml:GetConfiguredAudienceModel", "cleanrooms-ml:StartAudience*"]}
    found = findings(tmp_path, {"resourcePolicy": policy_doc(allow({"AWS": PARTNER}, action))}, rules)
    assert [rule for rule, _ in found] == [ACTIONS] * len(expected)
    for (_, message), fragment in zip(found, expected, strict=True):
        assert fragment in message


def test_allow_with_not_action_is_refused_when_actions_are_limited(tmp_path: Path) -> None:
    document = policy_doc({"Effect": "Allow", "Principal": {"AWS": PARTNER}, "NotAction": "cleanrooms-ml:Delete*"})
    found = findings(tmp_path, {"resourcePolicy": document}, {ACTIONS: ["cleanrooms-ml:Get*"]})
    assert found == [(ACTIONS, found[0][1])] and "NotAction allows every action" in found[0][1]


REQUIRE = "require-resource-policy"


@pytest.mark.parametrize(
    ("case", "extra", "expected"),
    [
        ("set", {"resourcePolicy": policy_doc(allow({"AWS": PARTNER}))}, None),
        ("not managed", {}, "resourcePolicy is not set"),
        ("null removes it", {"resourcePolicy": None}, "resourcePolicy is null (no policy)"),
    ],
)
def test_require_resource_policy(tmp_path: Path, case: str, extra: dict[str, Any], expected: str | None) -> None:
    found = findings(tmp_path, extra, {REQUIRE: True})
    if expected is None:
        assert found == []
    else:
        assert [rule for rule, _ in found] == [REQUIRE] and expected in found[0][1]


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [
        ("[a-z][a-z0-9-]*", False),
        ("", False),
        ("(a)+", False),  # a repeated group without a repeat inside
        ("((a)+)", False),
        ("(a+)?", False),  # at most once: no repetition of the inner repeat
        ("x|a+", False),  # an alternation outside any repeat
        ("(x|y)", False),
        ("[a-z]+(-[a-z]+)*", False),  # a delimiter starts each repetition: linear
        ("[a-z]+(?:_[a-z0-9]+)*", False),
        ("(-a+)*", False),  # the delimiter as a literal the inner repeat cannot match
        ("(-[a-z]+x)*", False),  # literals after the repeat
        ("(-[a-z][0-9]+)*", False),  # a class after the delimiter
        ("(-[a-z]{2,3})*", False),
        ("(z[a-y]+)*", False),  # just past the range
        ("(-[ab]+)*", False),  # a class of literals without the delimiter
        ("(-[a-z]+?)*", False),  # a lazy repeat after the delimiter
        ("(-[a-z]++)*", False),  # a possessive one
        ("(a+)+", True),
        ("(aa*)+", True),
        ("(?:a|aa)+", True),
        ("(x|y)+", False),  # single characters: read as the class [xy]
        ("x|(a+)+", True),  # a nested repeat in one branch
        ("(.*)*", True),
        ("(a+){2}", True),
        ("(a+?)+?", True),  # lazy repeats backtrack too
        ("(?:a+)++", True),  # possessive repeats are judged like the others
        ("(--+)*", True),  # the delimiter is what the inner repeat matches
        ("(-[a-z-]+)*", True),  # ... or one of the characters of its class
        ("(a[a-y]+)*", True),  # ... the first of a range
        ("(y[a-y]+)*", True),  # ... the last of a range
        ("(m[a-y]+)*", True),  # ... inside a range
        ("(-\\d+)*", True),  # a category may hold the delimiter: not proven safe
        ("(-[a-z]+.)*", True),  # `.` after the repeat may match the delimiter
        ("(-.+)*", True),  # `.` repeated may match the delimiter
        ("(-(?:ab)+)*", True),  # a repeated group inside: not a single item
        ("(", True),
        ("[a-", True),
    ],
)
def test_tag_patterns_that_could_take_exponential_time_are_refused(pattern: str, refused: bool) -> None:
    assert (pattern_problem(pattern) is not None) is refused


def test_unmanaged_tag_keys_and_aws_keys_are_not_owned_by_files() -> None:
    policy = Policy("policy.yaml", {}, unmanaged_tag_keys=("cost-center", "finops:*"))
    assert policy.owns_tag("team")
    assert not policy.owns_tag("cost-center")
    assert not policy.owns_tag("finops:budget")
    assert not policy.owns_tag("aws:cloudformation:stack-name")
    assert policy.owns_tag("finops")  # a glob, not a prefix


def _policy_of_length(length: int, letter: str = "a") -> dict[str, Any]:
    """A resource policy whose compact JSON text (as sent to the API) has exactly `length` characters."""
    condition: dict[str, Any] = {"StringEquals": {"aws:PrincipalTag/purpose": ""}}
    document = policy_doc({**allow({"AWS": PARTNER}), "Condition": condition})
    base = len(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
    condition["StringEquals"]["aws:PrincipalTag/purpose"] = letter * (length - base)
    return document


@pytest.mark.parametrize(
    ("case", "length", "letter", "refused"),
    [
        ("at the API's limit", 20480, "a", False),
        ("one character over", 20481, "a", True),
        ("non-ASCII letters count once each, as the API counts characters", 20480, "é", False),
    ],
)
def test_a_resource_policy_longer_than_the_api_takes_is_refused_before_any_call(
    tmp_path: Path, case: str, length: int, letter: str, refused: bool
) -> None:
    found = findings(tmp_path, {"resourcePolicy": _policy_of_length(length, letter)}, {})
    if refused:
        assert found == [
            ("schema", f"resourcePolicy is {length} characters as JSON; the API takes at most 20480: shorten it")
        ]
        text = (tmp_path / "models" / "m.json").read_text().splitlines()
        line = next(i for i, row in enumerate(text, 1) if row.startswith('  "resourcePolicy"'))
        result = check_file(ModelFile(tmp_path / "models" / "m.json", "models/m.json"), Policy("policy.yaml", {}))
        assert [(f.path, f.position.line) for f in result.findings] == [("models/m.json", line)]
    else:
        assert found == []
