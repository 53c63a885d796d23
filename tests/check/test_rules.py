"""Policy rules: one table per rule of (case, model file, rule value, expected [(rule, line)])."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import ACCOUNT, ARN, AUDIENCE_MODEL_ARN, ROLE_ARN
from factories import layout_model as model

from cam_gitops.check import catalog, rules
from cam_gitops.check.checker import check_file, run_check
from cam_gitops.check.policy import Policy
from cam_gitops.findings import Finding
from cam_gitops.model import ModelSpec
from cam_gitops.workspace.layout import ModelFile

OTHER = "444455556666"

DROP = None


def findings_for(tmp_path: Path, text: str, rule_id: str, config: Any, name: str = "models/m.yaml") -> list[Finding]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    result = check_file(ModelFile(path, name), Policy(path="policy.yaml", rules={rule_id: config}))
    return list(result.findings)


def check(tmp_path: Path, text: str, rule_id: str, config: Any, expected: list[tuple[str, int]]) -> list[Finding]:
    found = findings_for(tmp_path, text, rule_id, config)
    assert sorted((f.rule, f.position.line) for f in found) == sorted(expected), [f.message for f in found]
    assert all(f.severity.value == "error" and f.path == "models/m.yaml" for f in found)
    return found


def test_the_base_model_passes_every_rule_of_the_strict_policy(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(model())
    policy = Policy(
        path="policy.yaml",
        rules={
            "min-matching-seed-size": 1500,
            "allowed-s3-prefixes": ["s3://acme/aud/"],
            "allowed-accounts": [ACCOUNT],
            "allowed-regions": ["us-east-1"],
            "allowed-role-arns": [ROLE_ARN],
            "allowed-shared-audience-metrics": ["NONE"],
            "audience-size": {"allowed-types": ["ABSOLUTE"], "max-bins": 2, "min-bin": 50000, "max-bin": 100000},
            "audience-size-ascending": True,
            "require-description": True,
        },
    )
    result = run_check([ModelFile(path, "models/m.yaml")], policy)
    assert (result.files_checked, result.findings) == (1, [])


MIN_SEED = [
    ("absent", model(minMatchingSeedSize=DROP), 1000, [("min-matching-seed-size", 1)]),
    ("below", model(minMatchingSeedSize="999"), 1000, [("min-matching-seed-size", 4)]),
    ("equal passes", model(minMatchingSeedSize="1000"), 1000, []),
    ("above passes", model(minMatchingSeedSize="500000"), 1000, []),
    ("schema minimum, policy minimum", model(minMatchingSeedSize="25"), 25, []),
]


@pytest.mark.parametrize(("case", "text", "config", "expected"), MIN_SEED, ids=[c[0] for c in MIN_SEED])
def test_min_matching_seed_size(
    tmp_path: Path, case: str, text: str, config: Any, expected: list[tuple[str, int]]
) -> None:
    found = check(tmp_path, text, "min-matching-seed-size", config, expected)
    if case == "absent":
        assert "minMatchingSeedSize is not set; policy requires at least 1000" in found[0].message
    if case == "below":
        assert found[0].message == "minMatchingSeedSize is 999; policy requires at least 1000"
        assert found[0].position.column == 22


S3 = "allowed-s3-prefixes"
S3_CASES = [
    ("exact prefix", "s3://acme/aud/", ["s3://acme/aud/"], []),
    ("prefix without its slash", "s3://acme/aud", ["s3://acme/aud/"], []),
    ("below the prefix", "s3://acme/aud/x/", ["s3://acme/aud/"], []),
    ("deep below", "s3://acme/aud/x/y/z.csv", ["s3://acme/aud/"], []),
    ("longer segment is not under", "s3://acme/audit/", ["s3://acme/aud/"], [(S3, 9)]),
    ("bucket with a suffix is another bucket", "s3://acme-evil/aud/", ["s3://acme/aud/"], [(S3, 9)]),
    ("parent of the prefix", "s3://acme/", ["s3://acme/aud/"], [(S3, 9)]),
    ("another prefix of the list", "s3://acme-eu/eu/x/", ["s3://acme/aud/", "s3://acme-eu/eu/"], []),
    ("dotdot climbs out", "s3://acme/aud/../private/", ["s3://acme/aud/"], [(S3, 9)]),
    ("dotdot at the end", "s3://acme/aud/x/..", ["s3://acme/aud/"], [(S3, 9)]),
    ("dot segment", "s3://acme/./aud/", ["s3://acme/aud/"], [(S3, 9)]),
    ("double slash", "s3://acme//aud/", ["s3://acme/aud/"], [(S3, 9)]),
    ("double slash below", "s3://acme/aud//x/", ["s3://acme/aud/"], [(S3, 9)]),
    ("policy prefix without trailing slash", "s3://acme/aud/x/", ["s3://acme/aud"], []),
    ("policy prefix without trailing slash, longer segment", "s3://acme/audit/", ["s3://acme/aud"], [(S3, 9)]),
    ("bucket-only prefix admits the bucket", "s3://acme/anything/", ["s3://acme"], []),
    ("bucket-only prefix with slash", "s3://acme/anything/", ["s3://acme/"], []),
    ("bucket-only prefix refuses a longer bucket", "s3://acmex/anything/", ["s3://acme"], [(S3, 9)]),
    ("case matters", "s3://acme/AUD/", ["s3://acme/aud/"], [(S3, 9)]),
    ("no output config", DROP, ["s3://acme/aud/"], []),
]


@pytest.mark.parametrize(("case", "uri", "config", "expected"), S3_CASES, ids=[c[0] for c in S3_CASES])
def test_allowed_s3_prefixes(
    tmp_path: Path, case: str, uri: str | None, config: Any, expected: list[tuple[str, int]]
) -> None:
    if uri is None:
        text = model(outputConfig=DROP, destination=DROP, s3Destination=DROP, s3Uri=DROP, roleArn=DROP)
    else:
        text = model(s3Uri=uri)
    found = check(tmp_path, text, S3, config, expected)
    for finding in found:
        assert finding.position.column == 14
        assert finding.message.startswith(f"s3Uri {uri} ")
    if case == "dotdot climbs out":
        assert "'..' segment" in found[0].message
    if case == "double slash":
        assert "empty segment (//)" in found[0].message
    if case == "longer segment is not under":
        assert found[0].message.endswith("is not under an allowed prefix; allowed: s3://acme/aud/")


ACC = "allowed-accounts"
ACCOUNT_CASES = [
    ("all in the account", model(), [ACCOUNT], []),
    ("one of several", model(), [OTHER, ACCOUNT], []),
    ("model arn elsewhere", model(configuredAudienceModelArn=ARN.replace(ACCOUNT, OTHER)), [ACCOUNT], [(ACC, 1)]),
    (
        "audience model elsewhere",
        model(audienceModelArn=AUDIENCE_MODEL_ARN.replace(ACCOUNT, OTHER)),
        [ACCOUNT],
        [(ACC, 3)],
    ),
    ("role elsewhere", model(roleArn=ROLE_ARN.replace(ACCOUNT, OTHER)), [ACCOUNT], [(ACC, 10)]),
    ("every arn elsewhere", model(), [OTHER], [(ACC, 1), (ACC, 3), (ACC, 10)]),
    (
        "optional arns left out",
        model(audienceModelArn=DROP, outputConfig=DROP, destination=DROP, s3Destination=DROP, s3Uri=DROP, roleArn=DROP),
        [OTHER],
        [(ACC, 1)],
    ),
    # the schema's patterns are whole-value matches: text before the ARN is a schema error
    (
        "junk before the audience model arn",
        model(audienceModelArn=f"'x {AUDIENCE_MODEL_ARN}'"),
        [ACCOUNT],
        [("schema", 3)],
    ),
]


@pytest.mark.parametrize(("case", "text", "config", "expected"), ACCOUNT_CASES, ids=[c[0] for c in ACCOUNT_CASES])
def test_allowed_accounts(tmp_path: Path, case: str, text: str, config: Any, expected: list[tuple[str, int]]) -> None:
    found = check(tmp_path, text, ACC, config, expected)
    if case == "role elsewhere":
        assert found[0].message == f"roleArn is in account {OTHER}; allowed accounts: {ACCOUNT}"
    if case.startswith("junk"):
        assert "only part of it matches" in found[0].message


REG = "allowed-regions"
REGION_CASES = [
    ("allowed", model(), ["us-east-1"], []),
    ("one of several", model(), ["eu-west-1", "us-east-1"], []),
    (
        "model elsewhere",
        model(configuredAudienceModelArn=ARN.replace("us-east-1", "eu-west-1")),
        ["us-east-1"],
        [(REG, 1)],
    ),
    (
        "audience model elsewhere",
        model(audienceModelArn=AUDIENCE_MODEL_ARN.replace("us-east-1", "ap-south-1")),
        ["us-east-1"],
        [(REG, 3)],
    ),
    ("both elsewhere", model(), ["eu-west-1"], [(REG, 1), (REG, 3)]),  # IAM role ARNs have no region
    ("prefix of a region is not the region", model(), ["us-east"], [(REG, 1), (REG, 3)]),
]


@pytest.mark.parametrize(("case", "text", "config", "expected"), REGION_CASES, ids=[c[0] for c in REGION_CASES])
def test_allowed_regions(tmp_path: Path, case: str, text: str, config: Any, expected: list[tuple[str, int]]) -> None:
    found = check(tmp_path, text, REG, config, expected)
    if case == "model elsewhere":
        assert found[0].message == "configuredAudienceModelArn is in region eu-west-1; allowed regions: us-east-1"


ROLES = "allowed-role-arns"
ROLE_CASES = [
    ("exact", ROLE_ARN, [ROLE_ARN], []),
    ("star glob", ROLE_ARN, [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-*"], []),
    ("question mark glob", ROLE_ARN, [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-audience-write?"], []),
    (
        "question mark is one character",
        ROLE_ARN + "s",
        [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-audience-write?"],
        [(ROLES, 10)],
    ),
    (
        "not matching",
        f"arn:aws:iam::{ACCOUNT}:role/admin",
        [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-*"],
        [(ROLES, 10)],
    ),
    ("other account", ROLE_ARN.replace(ACCOUNT, OTHER), [f"arn:aws:iam::{ACCOUNT}:role/*"], [(ROLES, 10)]),
    (
        "case sensitive",
        ROLE_ARN.replace("cleanrooms", "CleanRooms"),
        [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-*"],
        [(ROLES, 10)],
    ),
    ("glob must match the whole arn", ROLE_ARN + "-admin", [ROLE_ARN], [(ROLES, 10)]),
    ("no role set", DROP, [ROLE_ARN], []),
    # `*` stays within one path segment: an allowed prefix never admits a deeper role path
    (
        "star does not cross a slash",
        f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-x/AdminRole",
        [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-*"],
        [(ROLES, 10)],
    ),
    (
        "star does not cross a space",
        f"'arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-x AdminRole'",
        [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-*"],
        [(ROLES, 10)],
    ),
    (
        "question mark is not a slash",
        f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-a/b",
        [f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-a?b"],
        [(ROLES, 10)],
    ),
    ("brackets are literal", f"arn:aws:iam::{ACCOUNT}:role/a", [f"arn:aws:iam::{ACCOUNT}:role/[a-z]"], [(ROLES, 10)]),
]


# Live values (judged as the model will be after the update) do not pass the schema first: the
# rules validate every ARN whole themselves, so a value of another service, type or shape is
# never skipped.
LIVE_ARNS = [
    ("another service", "audienceModelArn", AUDIENCE_MODEL_ARN.replace("cleanrooms-ml", "cleanrooms")),
    ("another resource type", "audienceModelArn", AUDIENCE_MODEL_ARN.replace("audience-model/", "training-dataset/")),
    ("text around the arn", "audienceModelArn", f"x {AUDIENCE_MODEL_ARN}"),
    ("a trailing newline", "audienceModelArn", AUDIENCE_MODEL_ARN + "\n"),
    ("not a string", "audienceModelArn", 42),
]


@pytest.mark.parametrize(("case", "field", "value"), LIVE_ARNS, ids=[c[0] for c in LIVE_ARNS])
def test_region_and_account_rules_validate_every_arn_whole(case: str, field: str, value: Any) -> None:
    spec = ModelSpec(source=_document(), arn=ARN, desired={field: value})
    for check_rule, allowed in ((rules.allowed_regions, ["us-east-1"]), (rules.allowed_accounts, [ACCOUNT])):
        [violation] = list(check_rule(spec, allowed))
        assert violation.field == (field,)
        assert "is not a valid cleanrooms-ml:audience-model ARN" in violation.message


def test_role_rule_refuses_a_role_of_another_service() -> None:
    role = f"arn:aws:sts::{ACCOUNT}:role/x"
    spec = ModelSpec(source=_document(), arn=ARN, desired={"outputConfig": {"roleArn": role}})
    [violation] = list(rules.allowed_role_arns(spec, [f"arn:aws:*::{ACCOUNT}:role/*"]))
    assert "is not a valid iam:role ARN" in violation.message


def _document() -> Any:
    from cam_gitops.loader import load_bytes

    document = load_bytes(f"configuredAudienceModelArn: {ARN}\n".encode(), "models/m.yaml", ".yaml").document
    assert document is not None
    return document


@pytest.mark.parametrize(("case", "role", "config", "expected"), ROLE_CASES, ids=[c[0] for c in ROLE_CASES])
def test_allowed_role_arns(
    tmp_path: Path, case: str, role: str | None, config: Any, expected: list[tuple[str, int]]
) -> None:
    if role is None:
        text = model(outputConfig=DROP, destination=DROP, s3Destination=DROP, s3Uri=DROP, roleArn=DROP)
    else:
        text = model(roleArn=role)
    found = check(tmp_path, text, ROLES, config, expected)
    if found and "'" not in str(role) and case != "a role of another service":
        assert found[0].position.column == 12
        assert found[0].message.startswith(f"roleArn {role} is not allowed; allowed: ")


METRICS = "allowed-shared-audience-metrics"
METRIC_CASES = [
    ("allowed", model(), ["NONE"], []),
    ("not allowed", model(sharedAudienceMetrics="[ALL]"), ["NONE"], [(METRICS, 5)]),
    ("both allowed", model(sharedAudienceMetrics="[ALL]"), ["ALL", "NONE"], []),
    ("block style", model(sharedAudienceMetrics="\n  - ALL"), ["NONE"], [(METRICS, 6)]),
    ("left out", model(sharedAudienceMetrics=DROP), ["NONE"], []),
]


@pytest.mark.parametrize(("case", "text", "config", "expected"), METRIC_CASES, ids=[c[0] for c in METRIC_CASES])
def test_allowed_shared_audience_metrics(
    tmp_path: Path, case: str, text: str, config: Any, expected: list[tuple[str, int]]
) -> None:
    found = check(tmp_path, text, METRICS, config, expected)
    if case == "not allowed":
        assert (found[0].position.column, found[0].message) == (
            25,
            "sharedAudienceMetrics ALL is not allowed; allowed: NONE",
        )


SIZE = "audience-size"
PCT = {"audienceSizeType": "PERCENTAGE"}
SIZE_CASES = [
    ("type allowed", model(), {"allowed-types": ["ABSOLUTE"]}, []),
    ("type not allowed", model(**PCT, audienceSizeBins="[5, 10]"), {"allowed-types": ["ABSOLUTE"]}, [(SIZE, 12)]),
    ("bins at the maximum count", model(), {"max-bins": 2}, []),
    ("too many bins", model(audienceSizeBins="[1, 2, 3]"), {"max-bins": 2}, [(SIZE, 13)]),
    ("absolute bins in range, bounds included", model(), {"min-bin": 50000, "max-bin": 100000}, []),
    ("absolute bin below min-bin", model(audienceSizeBins="[9999, 50000]"), {"min-bin": 10000}, [(SIZE, 13)]),
    ("absolute bin above max-bin", model(audienceSizeBins="[50000, 100001]"), {"max-bin": 100000}, [(SIZE, 13)]),
    (
        "every offending bin",
        model(audienceSizeBins="\n    - 1\n    - 50000\n    - 999999999"),
        {"min-bin": 10, "max-bin": 100000},
        "schema",
    ),
    (
        "block style bins, each on its line",
        model(audienceSizeBins="\n    - 1\n    - 50000\n    - 200000"),
        {"min-bin": 10, "max-bin": 100000},
        [(SIZE, 14), (SIZE, 16)],
    ),
    ("percentage limits do not apply to absolute", model(), {"max-percentage": 20}, []),
    ("absolute limits do not apply to percentage", model(**PCT, audienceSizeBins="[5, 10]"), {"min-bin": 10000}, []),
    (
        "percentage in range, bounds included",
        model(**PCT, audienceSizeBins="[1, 20]"),
        {"min-percentage": 1, "max-percentage": 20},
        [],
    ),
    ("percentage above max", model(**PCT, audienceSizeBins="[5, 25]"), {"max-percentage": 20}, [(SIZE, 13)]),
    ("percentage below min", model(**PCT, audienceSizeBins="[2, 5]"), {"min-percentage": 5}, [(SIZE, 13)]),
    (
        "everything wrong",
        model(**PCT, audienceSizeBins="[50, 60, 70]"),
        {"allowed-types": ["ABSOLUTE"], "max-bins": 2, "max-percentage": 55},
        [(SIZE, 12), (SIZE, 13), (SIZE, 13), (SIZE, 13)],
    ),
    (
        "no size config",
        model(audienceSizeConfig=DROP, audienceSizeType=DROP, audienceSizeBins=DROP),
        {"allowed-types": ["PERCENTAGE"], "max-bins": 1},
        [],
    ),
    ("empty limits", model(), {}, []),
]


@pytest.mark.parametrize(("case", "text", "config", "expected"), SIZE_CASES, ids=[c[0] for c in SIZE_CASES])
def test_audience_size(
    tmp_path: Path, case: str, text: str, config: Any, expected: list[tuple[str, int]] | str
) -> None:
    if expected == "schema":  # 999999999 breaks the schema first: no policy finding on a schema-invalid file
        assert [(f.rule, f.position.line) for f in findings_for(tmp_path, text, SIZE, config)] == [("schema", 16)]
        return
    assert not isinstance(expected, str)
    found = check(tmp_path, text, SIZE, config, expected)
    messages = [f.message for f in found]
    if case == "type not allowed":
        assert messages == ["audienceSizeType PERCENTAGE is not allowed; allowed: ABSOLUTE"]
    if case == "too many bins":
        assert messages == ["audienceSizeBins has 3 bins; policy allows at most 2"]
    if case == "absolute bin below min-bin":
        assert found[0].position.column == 22
        assert messages == ["ABSOLUTE bin 9999 is outside the allowed range 10000..max (min-bin/max-bin)"]
    if case == "percentage above max":
        assert found[0].position.column == 25
        assert messages == ["PERCENTAGE bin 25 is outside the allowed range 1..20 (min-percentage/max-percentage)"]


ASC = "audience-size-ascending"
ASCENDING_CASES = [
    ("ascending", model(), True, []),
    ("single bin", model(audienceSizeBins="[5]"), True, []),
    ("equal neighbours", model(audienceSizeBins="[5, 10, 10]"), True, [(ASC, 13)]),
    ("descending", model(audienceSizeBins="[30, 20, 10]"), True, [(ASC, 13), (ASC, 13)]),
    (
        "block style points at the offending bin",
        model(audienceSizeBins="\n    - 10\n    - 20\n    - 20\n    - 30\n    - 5"),
        True,
        [(ASC, 16), (ASC, 18)],
    ),
    ("disabled", model(audienceSizeBins="[30, 20, 10]"), False, []),
    ("no size config", model(audienceSizeConfig=DROP, audienceSizeType=DROP, audienceSizeBins=DROP), True, []),
]


@pytest.mark.parametrize(("case", "text", "config", "expected"), ASCENDING_CASES, ids=[c[0] for c in ASCENDING_CASES])
def test_audience_size_ascending(
    tmp_path: Path, case: str, text: str, config: Any, expected: list[tuple[str, int]]
) -> None:
    found = check(tmp_path, text, ASC, config, expected)
    if case == "equal neighbours":
        assert (found[0].position.column, found[0].message) == (
            29,
            "audienceSizeBins must be strictly ascending: 10 follows 10",
        )


DESC = "require-description"
DESCRIPTION_CASES = [
    ("present", model(), True, []),
    ("absent", model(description=DROP), True, [(DESC, 1)]),
    ("empty string", model(description="''"), True, [(DESC, 2)]),
    ("blank", model(description="'   '"), True, [(DESC, 2)]),
    ("only a newline", model(description='"\\n"'), True, [(DESC, 2)]),
    ("absent but disabled", model(description=DROP), False, []),
]


@pytest.mark.parametrize(
    ("case", "text", "config", "expected"), DESCRIPTION_CASES, ids=[c[0] for c in DESCRIPTION_CASES]
)
def test_require_description(
    tmp_path: Path, case: str, text: str, config: Any, expected: list[tuple[str, int]]
) -> None:
    found = check(tmp_path, text, DESC, config, expected)
    for finding in found:
        assert "description is required by policy" in finding.message


def test_a_rule_that_raises_becomes_a_finding_and_the_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(model: ModelSpec, value: Any) -> Iterator[Finding]:
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setitem(rules.CHECKS, DESC, broken)
    path = tmp_path / "m.yaml"
    path.write_text(model(minMatchingSeedSize="30"))
    policy = Policy(path="policy.yaml", rules={DESC: True, "min-matching-seed-size": 1000})
    result = run_check([ModelFile(path, "models/m.yaml")], policy)
    assert [(f.rule, f.position.line, f.message) for f in result.findings] == [
        (DESC, 1, "rule failed on this file (RuntimeError: boom)"),
        ("min-matching-seed-size", 4, "minMatchingSeedSize is 30; policy requires at least 1000"),
    ]
    assert result.errors == 2


def test_rules_do_not_run_on_a_schema_invalid_file(tmp_path: Path) -> None:
    found = findings_for(tmp_path, model(minMatchingSeedSize="'30'"), "min-matching-seed-size", 1000)
    assert [(f.rule, f.position.line) for f in found] == [("schema", 4)]


def test_every_policy_rule_is_documented_and_configurable() -> None:
    assert set(rules.CHECKS) == {rule_id for rule_id, info in catalog.RULES.items() if info.configurable}
