"""Policy changes for review: every rule loosened or tightened, every exception added or removed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cam_gitops.check.policy import IgnoredModel, Override, Policy, Waiver
from cam_gitops.check.policydiff import CHANGED, LOOSER, TIGHTER, diff_policies, direction
from cam_gitops.findings import Position

DIRECTIONS = [
    ("seed floor raised", "min-matching-seed-size", 1000, 2000, TIGHTER),
    ("seed floor lowered", "min-matching-seed-size", 1000, 100, LOOSER),
    ("rule added", "min-matching-seed-size", None, 100, TIGHTER),
    ("rule removed", "require-description", True, None, LOOSER),
    ("flag turned off", "require-description", True, False, LOOSER),
    ("flag turned on", "audience-size-ascending", False, True, TIGHTER),
    ("prefix added", "allowed-s3-prefixes", ["s3://a/x/"], ["s3://a/x/", "s3://b/"], LOOSER),
    ("prefix removed", "allowed-s3-prefixes", ["s3://a/x/", "s3://b/"], ["s3://a/x/"], TIGHTER),
    ("prefix replaced", "allowed-s3-prefixes", ["s3://a/x/"], ["s3://a/"], CHANGED),
    ("role glob widened", "allowed-role-arns", ["arn:aws:iam::1:role/a-*"], ["arn:aws:iam::1:role/*"], CHANGED),
    ("metrics: ALL allowed", "allowed-shared-audience-metrics", ["NONE"], ["ALL", "NONE"], LOOSER),
    ("more bins", "audience-size", {"max-bins": 5}, {"max-bins": 10}, LOOSER),
    ("smaller bins allowed", "audience-size", {"min-bin": 10000}, {"min-bin": 100}, LOOSER),
    ("percentage cap lowered", "audience-size", {"max-percentage": 20}, {"max-percentage": 10}, TIGHTER),
    ("a cap dropped", "audience-size", {"max-bins": 5, "min-bin": 10}, {"min-bin": 10}, LOOSER),
    ("mixed", "audience-size", {"max-bins": 5, "min-bin": 10}, {"max-bins": 10, "min-bin": 100}, CHANGED),
    (
        "types narrowed",
        "audience-size",
        {"allowed-types": ["ABSOLUTE", "PERCENTAGE"]},
        {"allowed-types": ["ABSOLUTE"]},
        TIGHTER,
    ),
]


@pytest.mark.parametrize(("case", "rule", "before", "after", "expected"), DIRECTIONS, ids=[c[0] for c in DIRECTIONS])
def test_direction_of_a_rule_change(case: str, rule: str, before: Any, after: Any, expected: str) -> None:
    assert direction(rule, before, after) == expected


ARNS = "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/*"


def waiver(path: str, rule: str = "require-description") -> Waiver:
    return Waiver(path, rule, "the owner is writing it", dt.date(2027, 1, 31), Position(1, 1))


def test_unchanged_policy_has_an_empty_diff() -> None:
    policy = Policy("policy.yaml", {"min-matching-seed-size": 1000}, (), (waiver("models/a.yaml"),))
    diff = diff_policies(policy, policy)
    assert diff.empty and not diff.loosened


def test_waivers_and_ignore_entries_added_are_loosening() -> None:
    before = Policy("policy.yaml", {"require-description": True}, (), (waiver("models/a.yaml"),))
    after = Policy(
        "policy.yaml",
        {"require-description": True},
        (),
        (waiver("models/b/**"),),
        (IgnoredModel(ARNS, "the partner's own models"),),
    )
    diff = diff_policies(before, after)
    entries = {(e.kind, e.change, e.target, e.direction) for e in diff.entries}
    assert entries == {
        ("waiver", "added", "models/b/**", LOOSER),
        ("waiver", "removed", "models/a.yaml", TIGHTER),
        ("ignore-unmanaged", "added", ARNS, LOOSER),
    }
    assert diff.loosened


def test_an_added_override_is_judged_against_the_top_level_value() -> None:
    before = Policy("policy.yaml", {"min-matching-seed-size": 1000})
    after = Policy(
        "policy.yaml",
        {"min-matching-seed-size": 1000},
        (Override(("models/sandbox/**",), {"min-matching-seed-size": 100}),),
    )
    diff = diff_policies(before, after)
    assert diff.overrides == (("added", "models/sandbox/**"),)
    [delta] = diff.rules
    assert (delta.scope, delta.rule, delta.before, delta.after, delta.direction) == (
        "override models/sandbox/**",
        "min-matching-seed-size",
        1000,
        100,
        LOOSER,
    )
    assert diff.loosened


def test_a_changed_override_reports_each_rule() -> None:
    override = (("models/media/**",), {"min-matching-seed-size": 2000, "require-description": True})
    before = Policy("policy.yaml", {}, (Override(*override),))
    after = Policy("policy.yaml", {}, (Override(override[0], {"min-matching-seed-size": 5000}),))
    diff = diff_policies(before, after)
    assert [(d.rule, d.direction) for d in diff.rules] == [
        ("min-matching-seed-size", TIGHTER),
        ("require-description", LOOSER),
    ]
    assert {d.scope for d in diff.rules} == {"override models/media/**"}


def test_only_tightening_is_not_loosened() -> None:
    before = Policy("policy.yaml", {"min-matching-seed-size": 1000})
    after = Policy("policy.yaml", {"min-matching-seed-size": 2000, "require-description": True})
    diff = diff_policies(before, after)
    assert not diff.empty and not diff.loosened


def test_the_diff_names_the_policy_file_it_was_read_from() -> None:
    before = Policy("config/org-policy.yaml", {"min-matching-seed-size": 1000})
    after = Policy("config/org-policy.yaml", {"min-matching-seed-size": 500})
    diff = diff_policies(before, after)
    assert diff.path == "config/org-policy.yaml"
    assert [(d.direction) for d in diff.rules] == [LOOSER]
