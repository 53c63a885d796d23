"""load_policy: what a policy file loads to, and where and how each problem in it is reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cam_gitops import __version__
from cam_gitops.check.policy import PolicyLoad, load_policy

RULES = "rules:\n  require-description: true\n"
ARNS = "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/*"


def load(tmp_path: Path, text: str | bytes) -> PolicyLoad:
    path = tmp_path / "policy.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return load_policy(path, "policy.yaml")


def shown(loaded: PolicyLoad) -> list[tuple[str, int, int, str, str]]:
    return [(f.rule, f.position.line, f.position.column, f.severity.value, f.message) for f in loaded.findings]


def test_warnings_of_the_reader_are_kept_and_do_not_stop_the_policy(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        b"\xef\xbb\xbf"
        + (
            RULES
            + "waivers:\n  - {path: '**', rule: require-description, reason: nobody writes them, expires: 2099-01-01}\n"
        ).encode(),
    )
    assert loaded.policy is not None and loaded.policy.rules == {"require-description": True}
    assert [(rule, line, severity) for rule, line, _, severity, _ in shown(loaded)] == [
        ("parse", 1, "warning"),  # the byte-order mark
        ("policy", 4, "warning"),  # the waiver for every file
    ]


def test_a_duplicate_key_refuses_the_policy_before_its_values_are_judged(tmp_path: Path) -> None:
    # which of the two values would be kept is a guess: nothing is validated on it
    loaded = load(tmp_path, "rules:\n  min-matching-seed-size: lots\n  min-matching-seed-size: many\n")
    assert loaded.policy is None
    assert [(rule, line) for rule, line, *_ in shown(loaded)] == [("duplicate-key", 3)]


def test_ignore_unmanaged_expiry_is_optional_and_checked_where_given(tmp_path: Path) -> None:
    entries = (
        f"ignore-unmanaged:\n  - arn: '{ARNS}'\n    reason: partner models\n"
        f"  - arn: '{ARNS}'\n    reason: old models\n    expires: 2026-02-30\n"
    )
    loaded = load(tmp_path, RULES + entries)
    assert loaded.policy is None
    assert shown(loaded) == [
        (
            "policy",
            8,
            14,
            "error",
            "ignore-unmanaged[1].expires is not a real date: 2026-02-30; use YYYY-MM-DD",
        )
    ]
    fixed = load(tmp_path, RULES + entries.replace("2026-02-30", "2026-02-28"))
    assert fixed.policy is not None and fixed.findings == ()
    assert [(i.reason, i.expires) for i in fixed.policy.ignore_unmanaged] == [
        ("partner models", None),
        ("old models", dt.date(2026, 2, 28)),
    ]


def test_globs_for_every_model_file_are_flagged_at_the_glob(tmp_path: Path) -> None:
    text = RULES + (
        "overrides:\n"
        "  - rules: {require-description: false}\n"  # 4
        "    paths:\n"
        "      - models/sandbox/**\n"
        "      - '**'\n"  # 7
        "waivers:\n"
        "  - rule: require-description\n"  # 9
        "    reason: nobody writes them\n"
        "    path: models/**\n"  # 11
        "    expires: 2099-01-01\n"
    )
    assert shown(load(tmp_path, text)) == [
        (
            "policy",
            11,
            11,
            "warning",
            "waiver of require-description for models/** matches every model file: it turns the rule off for "
            "the whole project; name the files or folders it is for",
        ),
        (
            "policy",
            7,
            9,
            "warning",
            "override paths ** matches every model file: its rules replace the top-level rules everywhere; "
            "change the top-level rules instead, or name the folders it is for",
        ),
    ]


PREFIXES = [
    ("clean", "s3://acme/aud/", True),
    ("no trailing slash", "s3://acme/aud", True),
    ("bucket only", "s3://acme", True),
    ("a '.' segment", "s3://acme/./aud/", False),
    ("a '..' segment", "s3://acme/aud/../x/", False),
    ("// inside", "s3://acme/aud//x/", False),
    ("// at the end", "s3://acme/aud//", False),
]


@pytest.mark.parametrize(("case", "prefix", "accepted"), PREFIXES, ids=[c[0] for c in PREFIXES])
def test_allowed_s3_prefixes_must_be_clean(tmp_path: Path, case: str, prefix: str, accepted: bool) -> None:
    loaded = load(tmp_path, f"rules:\n  allowed-s3-prefixes:\n    - {prefix}\n")
    assert (loaded.policy is not None) == accepted
    if not accepted:
        assert shown(loaded) == [
            (
                "policy",
                3,
                7,
                "error",
                f"allowed-s3-prefixes entry {prefix} has an empty, '.' or '..' segment; write a clean prefix",
            )
        ]


@pytest.mark.parametrize(("low", "high", "accepted"), [(100, 100, True), (101, 100, False), (1, 2, True)])
def test_a_bin_range_may_be_one_value_but_never_empty(tmp_path: Path, low: int, high: int, accepted: bool) -> None:
    loaded = load(tmp_path, f"rules:\n  audience-size:\n    min-bin: {low}\n    max-bin: {high}\n")
    assert (loaded.policy is not None) == accepted
    if not accepted:
        assert [message for *_, message in shown(loaded)] == [
            f"audience-size min-bin ({low}) is greater than max-bin ({high}); no bin could pass"
        ]


def test_a_release_outside_required_version_makes_the_policy_unusable_and_keeps_earlier_warnings(
    tmp_path: Path,
) -> None:
    loaded = load(tmp_path, b"\xef\xbb\xbf" + ('required-version: ">=999.0"\n' + RULES).encode())
    assert loaded.policy is None
    assert [(rule, line, severity) for rule, line, _, severity, _ in shown(loaded)] == [
        ("parse", 1, "warning"),  # the byte-order mark
        ("policy", 1, "error"),
    ]
    assert loaded.findings[1].message.startswith(
        f"cam-gitops {__version__} is installed, but policy.yaml required-version is >=999.0"
    )


def test_a_release_inside_required_version_loads(tmp_path: Path) -> None:
    loaded = load(tmp_path, f'required-version: "=={__version__}"\n' + RULES)
    assert loaded.policy is not None and loaded.findings == ()


def test_unmanaged_tag_keys_are_left_to_others_and_their_star_stays_within_blanks(tmp_path: Path) -> None:
    loaded = load(tmp_path, RULES + "unmanaged-tag-keys: [cost-center, 'finops:*']\n")
    assert loaded.policy is not None
    owned = {key: loaded.policy.owns_tag(key) for key in ("team", "cost-center", "finops:budget", "finops:a b")}
    assert owned == {"team": True, "cost-center": False, "finops:budget": False, "finops:a b": True}


def test_a_tag_pattern_finding_points_at_the_pattern(tmp_path: Path) -> None:
    row = "    owner: {values: [a, b], pattern: '^(a+)+$'}"
    loaded = load(tmp_path, "rules:\n  required-tags:\n" + row + "\n")
    assert loaded.policy is None
    [(rule, line, column, severity, message)] = shown(loaded)
    assert (rule, line, column, severity) == ("policy", 3, row.index("'^") + 1, "error")
    assert message.startswith("required-tags owner pattern repeats a group")
