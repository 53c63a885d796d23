"""Globs a policy writes for waivers and overrides, and for role ARNs: worked cases, each one a
way a matcher could go wrong (tests/hostile/test_globs.py compares with a reference)."""

from __future__ import annotations

import pytest

from cam_gitops.check.globs import BLANKS, glob_to_matcher, path_matches
from cam_gitops.check.rules import arn_glob_matches

PATHS = [
    # a folder written with its slash is everything below it, and nothing beside it
    ("models/team/", "models/team/a.yaml", True),
    ("models/team/", "models/team/x/y.yaml", True),
    ("models/team/", "models/team-b/a.yaml", False),
    ("models/team/", "models/other/team/a.yaml", False),
    ("./models/team/", "models/team/a.yaml", True),
    # a wildcard before the trailing /** is a wildcard, not a prefix
    ("models/team-*/**", "models/team-a/x.yaml", True),
    ("models/team-*/**", "models/team-a/x/y.yaml", True),
    ("models/team-*/**", "models/other/x.yaml", False),
    # ** spans folders wherever it stands, also before a later **/
    ("models/**x/**/a.yaml", "models/foo/barx/q/a.yaml", True),
    ("models/**x/**/a.yaml", "models/barx/a.yaml", True),
    ("models/**x/**/a.yaml", "models/bar/a.yaml", False),
    # * never crosses /, even in a glob whose only / is the one of **/
    ("*a**/b", "x/a/b", False),
    ("*a**/b", "xa/q/b", True),
    ("*a**/b", "xa/b", True),
    # any other character is matched by * and ?, capitals included
    ("models/*.yaml", "models/Xandr.yaml", True),
    ("models/?.yaml", "models/X.yaml", True),
    ("models/*.yaml", "models/x/a.yaml", False),
]


@pytest.mark.parametrize(("glob", "path", "expected"), PATHS, ids=[f"{g} {p}" for g, p, _ in PATHS])
def test_path_globs(glob: str, path: str, expected: bool) -> None:
    assert path_matches(glob, path) is expected


ROLE = "arn:aws:iam::111122223333:role/"
VALUES = [
    ("a*", "aXb", "", True),
    ("a?c", "aXc", "", True),
    ("a*", "a/b", "", False),
    ("a**", "a/b", "", True),
    (ROLE + "team-*", ROLE + "team-X", BLANKS, True),
    (ROLE + "team-*", ROLE + "team-X y", BLANKS, False),
    (ROLE + "team-*", ROLE + "team-a/Admin", BLANKS, False),
]


@pytest.mark.parametrize(("glob", "value", "never", "expected"), VALUES, ids=[f"{g} {v}" for g, v, _, _ in VALUES])
def test_value_globs(glob: str, value: str, never: str, expected: bool) -> None:
    matcher = glob_to_matcher(glob, never=never) if never else glob_to_matcher(glob)
    assert matcher(value) is expected


ARN_GLOB = "arn:aws:cleanrooms-ml:*:111122223333:configured-audience-model/*"
ARN_VALUES = [
    ("arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/partner-1", True),
    ("arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/partner 1", False),
    ("arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/partner\n1", False),
    ("arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/a/b", False),
]


@pytest.mark.parametrize(("arn", "expected"), ARN_VALUES, ids=["plain", "space", "line break", "slash"])
def test_an_arn_glob_never_matches_a_blank_a_line_break_or_a_slash(arn: str, expected: bool) -> None:
    # drift matches live ARNs (from AWS, so hostile) against ignore-unmanaged globs with it
    assert arn_glob_matches(arn, ARN_GLOB) is expected
