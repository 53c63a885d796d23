"""Policy diffs a reviewer reads: every scope at once, overrides removed, lists reordered,
limits moved by one, ignore-unmanaged expiries."""

from __future__ import annotations

import datetime as dt

import pytest

from cam_gitops.check.policy import IgnoredModel, Override, Policy
from cam_gitops.check.policydiff import CHANGED, LOOSER, TIGHTER, diff_policies, direction

ARNS = "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/*"


def test_every_scope_is_reported_together() -> None:
    before = Policy(
        "policy.yaml",
        {"min-matching-seed-size": 1000},
        (
            Override(("models/media/**", "models/film/**"), {"min-matching-seed-size": 2000}),
            Override(("models/old/**", "models/older/**"), {"min-matching-seed-size": 500}),
        ),
    )
    after = Policy(
        "policy.yaml",
        {"min-matching-seed-size": 1500},
        (
            Override(("models/media/**", "models/film/**"), {"min-matching-seed-size": 3000}),
            Override(("models/new/**", "models/next/**"), {"require-description": True}),
        ),
    )
    diff = diff_policies(before, after)
    assert [(d.scope, d.rule, d.before, d.after, d.direction) for d in diff.rules] == [
        ("rules", "min-matching-seed-size", 1000, 1500, TIGHTER),
        ("override models/media/**, models/film/**", "min-matching-seed-size", 2000, 3000, TIGHTER),
        ("override models/new/**, models/next/**", "require-description", None, True, TIGHTER),
        # the removed override's files now follow the top-level value
        ("override models/old/**, models/older/**", "min-matching-seed-size", 500, 1500, TIGHTER),
    ]
    assert diff.overrides == (("added", "models/new/**, models/next/**"), ("removed", "models/old/**, models/older/**"))


def test_removing_an_override_that_was_stricter_loosens() -> None:
    override = Override(("models/media/**",), {"min-matching-seed-size": 5000, "require-description": True})
    before = Policy("policy.yaml", {"min-matching-seed-size": 1000}, (override,))
    after = Policy("policy.yaml", {"min-matching-seed-size": 1000})
    diff = diff_policies(before, after)
    assert [(d.scope, d.rule, d.before, d.after, d.direction) for d in diff.rules] == [
        ("override models/media/**", "min-matching-seed-size", 5000, 1000, LOOSER),
        ("override models/media/**", "require-description", True, None, LOOSER),
    ]
    assert diff.overrides == (("removed", "models/media/**"),) and diff.loosened


CASES = [
    ("seed floor lowered by one", "min-matching-seed-size", 1000, 999, LOOSER),
    ("seed floor raised by one", "min-matching-seed-size", 1000, 1001, TIGHTER),
    ("one more bin", "audience-size", {"max-bins": 5}, {"max-bins": 6}, LOOSER),
    ("prefixes reordered", "allowed-s3-prefixes", ["s3://a/", "s3://b/"], ["s3://b/", "s3://a/"], CHANGED),
    (
        "accounts reordered",
        "allowed-accounts",
        ["111122223333", "444455556666"],
        ["444455556666", "111122223333"],
        CHANGED,
    ),
]


@pytest.mark.parametrize(("case", "rule", "before", "after", "expected"), CASES, ids=[c[0] for c in CASES])
def test_direction(case: str, rule: str, before: object, after: object, expected: str) -> None:
    assert direction(rule, before, after) == expected


def test_an_ignore_unmanaged_expiry_moved_is_seen() -> None:
    def policy(*expiries: dt.date | None) -> Policy:
        return Policy(
            "policy.yaml", {}, ignore_unmanaged=tuple(IgnoredModel(ARNS, "partner models", e) for e in expiries)
        )

    diff = diff_policies(policy(dt.date(2026, 1, 31)), policy(None, dt.date(2027, 1, 31)))
    assert [(e.change, e.target, e.expires, e.direction) for e in diff.entries] == [
        ("added", ARNS, "2027-01-31", LOOSER),
        ("added", ARNS, None, LOOSER),
        ("removed", ARNS, "2026-01-31", TIGHTER),
    ]
    back = diff_policies(policy(None, dt.date(2027, 1, 31)), policy())
    assert [(e.change, e.expires) for e in back.entries] == [("removed", "2027-01-31"), ("removed", None)]
