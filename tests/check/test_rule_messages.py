"""What each rule says, word for word, for values in a file and for live values a file leaves
to AWS (judged as the model will be after the update, where no schema has looked at them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import ACCOUNT, AUDIENCE_MODEL_ARN, ROLE_ARN
from factories import layout_model as model

from cam_gitops.check import rules
from cam_gitops.check.checker import check_file
from cam_gitops.check.engine import effective_findings
from cam_gitops.check.policy import Policy
from cam_gitops.loader import load_bytes
from cam_gitops.model import ModelSpec, model_from_document
from cam_gitops.workspace.layout import ModelFile

NAME = "models/m.yaml"


def on_file(tmp_path: Path, text: str, rule: str, config: Any) -> list[tuple[str, int, str]]:
    """(rule, line, message) of every finding check reports on the file."""
    path = tmp_path / NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    result = check_file(ModelFile(path, NAME), Policy("policy.yaml", {rule: config}))
    return [(f.rule, f.position.line, f.message) for f in result.findings]


def spec(text: str) -> ModelSpec:
    document = load_bytes(text.encode(), NAME, ".yaml").document
    assert document is not None
    return model_from_document(document)


def on_live(field: str, value: Any, rule: str, config: Any) -> list[str]:
    """Messages of the findings the plan reports for a live value the file does not set."""
    found = effective_findings(spec(model(**{field: None})), {field: value}, {rule: config})
    assert all((f.rule, f.path, f.position.line) == (rule, NAME, 1) for f in found)
    return [f.message for f in found]


def live_suffix(field: str) -> str:
    return (
        f" (live value; not set in {NAME}): add {field} to {NAME} with a value the policy allows, "
        "so the update replaces it"
    )


S3 = "allowed-s3-prefixes"
PREFIXES = ["s3://acme/aud/", "s3://acme-eu/eu/"]
S3_FILE_CASES = [
    ("a '.' segment below the prefix", "s3://acme/aud/./x/", "has a '.' segment; write the normalised path"),
    ("a '..' segment below the prefix", "s3://acme/aud/x/../y/", "has a '..' segment; write the normalised path"),
    ("// before the last slash", "s3://acme/aud//", "has an empty segment (//); write the normalised path"),
    ("// deep below", "s3://acme/aud/x//y", "has an empty segment (//); write the normalised path"),
    ("no bucket", "s3:///aud/", "has no bucket name"),
    ("DEL character", '"s3://acme/aud/\\x7f"', "has a control character; write the plain path"),
    ("unit separator", '"s3://acme/aud/\\x1f"', "has a control character; write the plain path"),
    ("another prefix", "s3://acme/audit/", "is not under an allowed prefix; allowed: s3://acme/aud/, s3://acme-eu/eu/"),
]


@pytest.mark.parametrize(("case", "uri", "problem"), S3_FILE_CASES, ids=[c[0] for c in S3_FILE_CASES])
def test_an_s3_uri_that_is_not_a_clean_path_under_a_prefix_is_refused_with_why(
    tmp_path: Path, case: str, uri: str, problem: str
) -> None:
    [(rule, line, message)] = on_file(tmp_path, model(s3Uri=uri), S3, PREFIXES)
    assert (rule, line) == (S3, 9)
    shown = uri.strip('"').replace("\\x7f", "\\u007f").replace("\\x1f", "\\u001f")
    assert message == f"s3Uri {shown} {problem}"


@pytest.mark.parametrize(
    "uri", ["s3://acme/aud/my file.csv", "s3://acme/aud/x/", "s3://acme/aud", "s3://acme-eu/eu/a/b.csv"]
)
def test_a_clean_s3_uri_under_a_prefix_passes(tmp_path: Path, uri: str) -> None:
    assert on_file(tmp_path, model(s3Uri=f"'{uri}'"), S3, PREFIXES) == []


S3_LIVE_CASES = [
    ("not a string", 42, "s3Uri 42 is not a string"),
    ("not s3", "https://acme/aud/", "s3Uri https://acme/aud/ does not start with s3://"),
    ("a newline", "s3://acme/aud/\n", "s3Uri s3://acme/aud/\\u000a has a control character; write the plain path"),
]


@pytest.mark.parametrize(("case", "value", "message"), S3_LIVE_CASES, ids=[c[0] for c in S3_LIVE_CASES])
def test_a_live_s3_uri_is_validated_as_a_file_value_is(case: str, value: Any, message: str) -> None:
    live = {"destination": {"s3Destination": {"s3Uri": value}}, "roleArn": ROLE_ARN}
    assert on_live("outputConfig", live, S3, PREFIXES) == [message + live_suffix("outputConfig")]


def test_a_long_value_is_quoted_up_to_80_characters(tmp_path: Path) -> None:
    def message_for(uri: str) -> str:
        [(_, _, message)] = on_file(tmp_path, model(s3Uri=uri), S3, ["s3://acme/aud/"])
        return message.removesuffix(" is not under an allowed prefix; allowed: s3://acme/aud/")

    exactly = "s3://other/" + "a" * (80 - len("s3://other/"))
    assert message_for(exactly) == f"s3Uri {exactly}"
    longer = exactly + "b"
    assert message_for(longer) == f"s3Uri {longer[:77]}..."
    assert message_for(longer + "c" * 500) == f"s3Uri {longer[:77]}..."


def test_min_seed_left_out_says_the_live_value_stays(tmp_path: Path) -> None:
    assert on_file(tmp_path, model(minMatchingSeedSize=None), "min-matching-seed-size", 1000) == [
        (
            "min-matching-seed-size",
            1,
            "minMatchingSeedSize is not set; policy requires at least 1000 "
            "(left out, the live value stays whatever it is)",
        )
    ]


OTHER = "444455556666"
LIST_MESSAGES = [
    (
        "allowed-accounts",
        {"audienceModelArn": AUDIENCE_MODEL_ARN.replace(ACCOUNT, OTHER)},
        [ACCOUNT, "555566667777"],
        [(3, f"audienceModelArn is in account {OTHER}; allowed accounts: {ACCOUNT}, 555566667777")],
    ),
    (
        "allowed-regions",
        {"audienceModelArn": AUDIENCE_MODEL_ARN.replace("us-east-1", "eu-west-1")},
        ["us-east-1", "us-west-2"],
        [(3, "audienceModelArn is in region eu-west-1; allowed regions: us-east-1, us-west-2")],
    ),
    (
        "allowed-role-arns",
        {"roleArn": ROLE_ARN.replace("cleanrooms-ml-", "admin-")},
        [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-*", f"arn:aws:iam::{ACCOUNT}:role/team-*"],
        [
            (
                10,
                f"roleArn {ROLE_ARN.replace('cleanrooms-ml-', 'admin-')} is not allowed; allowed: "
                f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-*, arn:aws:iam::{ACCOUNT}:role/team-*",
            )
        ],
    ),
    (
        "allowed-shared-audience-metrics",
        {"sharedAudienceMetrics": "[ALL]"},
        ["NONE", "MEDIAN"],
        [(5, "sharedAudienceMetrics ALL is not allowed; allowed: NONE, MEDIAN")],
    ),
    (
        "audience-size",
        {"audienceSizeType": "PERCENTAGE", "audienceSizeBins": "[5, 10]"},
        {"allowed-types": ["ABSOLUTE", "OTHER"]},
        [(12, "audienceSizeType PERCENTAGE is not allowed; allowed: ABSOLUTE, OTHER")],
    ),
]


@pytest.mark.parametrize(("rule", "values", "config", "expected"), LIST_MESSAGES, ids=[c[0] for c in LIST_MESSAGES])
def test_a_refusal_lists_everything_the_policy_allows(
    tmp_path: Path, rule: str, values: dict[str, str], config: Any, expected: list[tuple[int, str]]
) -> None:
    assert on_file(tmp_path, model(**values), rule, config) == [(rule, line, text) for line, text in expected]


NOT_AN_ARN = "(arn:partition:service:region:account:type/id); cannot check its"
AM_NOT_AN_ARN = f"audienceModelArn 42 is not a valid cleanrooms-ml:audience-model ARN {NOT_AN_ARN}"
ARN_LIVE_CASES = [
    ("allowed-regions", ["us-east-1"], f"{AM_NOT_AN_ARN} region"),
    ("allowed-accounts", [ACCOUNT], f"{AM_NOT_AN_ARN} account"),
]


@pytest.mark.parametrize(("rule", "config", "message"), ARN_LIVE_CASES, ids=[c[0] for c in ARN_LIVE_CASES])
def test_a_live_value_that_is_not_an_arn_never_passes_the_arn_rules(rule: str, config: Any, message: str) -> None:
    assert on_live("audienceModelArn", 42, rule, config) == [message + live_suffix("audienceModelArn")]


def test_a_live_role_that_is_not_an_arn_is_named() -> None:
    live = {"destination": {"s3Destination": {"s3Uri": "s3://acme/aud/"}}, "roleArn": ["x"]}
    assert on_live("outputConfig", live, "allowed-role-arns", [ROLE_ARN]) == [
        f'roleArn ["x"] is not a valid iam:role ARN {NOT_AN_ARN} role' + live_suffix("outputConfig")
    ]


def test_live_metrics_that_are_not_a_list_are_named() -> None:
    message = 'sharedAudienceMetrics {"ALL": true} is not a list'
    assert on_live("sharedAudienceMetrics", {"ALL": True}, "allowed-shared-audience-metrics", ["NONE"]) == [
        message + live_suffix("sharedAudienceMetrics")
    ]


AUDIENCE_LIVE_CASES = [
    (
        "bins not integers",
        {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [1, "é"]},
        ['audienceSizeBins [1, "é"]'],
    ),
    ("bins not a list", {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": "1,2"}, ["audienceSizeBins 1,2"]),
    ("bins without a type", {"audienceSizeBins": [1, 5_000_000]}, []),
    ("a type without bins", {"audienceSizeType": "COUNT"}, []),
]


@pytest.mark.parametrize(("case", "live", "shown"), AUDIENCE_LIVE_CASES, ids=[c[0] for c in AUDIENCE_LIVE_CASES])
def test_live_audience_size_config_is_read_as_the_rules_read_a_file(case: str, live: Any, shown: list[str]) -> None:
    limits = {"allowed-types": ["ABSOLUTE"], "min-bin": 10, "max-bin": 100}
    expected = [f"{text} is not a list of integers" + live_suffix("audienceSizeConfig") for text in shown]
    assert on_live("audienceSizeConfig", live, "audience-size", limits) == expected
    # bins that are not integers are the audience-size rule's to report, not the order's
    assert on_live("audienceSizeConfig", live, "audience-size-ascending", True) == []


def test_the_order_rule_leaves_bins_that_are_not_integers_alone() -> None:
    # whatever a live value holds, a rule reports it or skips it: it never fails on it
    for bins in ([1, "x"], ["b", "a"], [2, None, 1], "3,2,1"):
        hostile = spec(model())
        hostile.desired["audienceSizeConfig"]["audienceSizeBins"] = bins
        assert list(rules.audience_size_ascending(hostile, True)) == []


def test_a_missing_or_blank_description_says_what_to_write(tmp_path: Path) -> None:
    message = "description is required by policy: say what the model is for and who owns it"
    assert on_file(tmp_path, model(description=None), "require-description", True) == [
        ("require-description", 1, message)
    ]
    assert on_file(tmp_path, model(description="'  '"), "require-description", True) == [
        ("require-description", 2, message)
    ]
