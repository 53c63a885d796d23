"""Globs: linear time whatever they hold, `*` never crosses `/`, brackets are literal.

Seen: a policy glob with many `**` groups hung `check` (catastrophic backtracking of the
regex translation), and `*` in allowed-role-arns crossed `/`, spaces and line breaks.
Property tests compare the matcher with a reference written from the documented syntax.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cam_gitops.check.globs import BLANKS, glob_to_matcher, matches_everything, model_file_not_matched, path_matches
from cam_gitops.loader import MODEL_SUFFIXES


@functools.cache
def reference(glob: str, value: str, separator: str = "/", never: str = "") -> bool:
    """The documented syntax, read literally (exponential, for short inputs only)."""
    if not glob:
        return not value
    if glob.startswith("**/"):  # any run of characters ending in /, or nothing
        rest = glob[3:]
        if reference(rest, value, separator, never):
            return True
        for end, char in enumerate(value):
            if char in never:
                return False
            if char == "/" and reference(rest, value[end + 1 :], separator, never):
                return True
        return False
    if glob.startswith("**"):
        for end in range(len(value) + 1):
            if reference(glob[2:], value[end:], separator, never):
                return True
            if end < len(value) and value[end] in never:
                return False
        return False
    if glob[0] == "*":
        for end in range(len(value) + 1):
            if reference(glob[1:], value[end:], separator, never):
                return True
            if end < len(value) and (value[end] in separator or value[end] in never):
                return False
        return False
    if not value:
        return False
    if glob[0] == "?":
        return value[0] not in separator and value[0] not in never and reference(glob[1:], value[1:], separator, never)
    return glob[0] == value[0] and reference(glob[1:], value[1:], separator, never)


GLOB_PARTS = st.sampled_from(["a", "b", "/", "*", "**", "**/", "?", ".", "[", "]", "[ab]", "\\", " ", "{a,b}"])
GLOBS = st.lists(GLOB_PARTS, max_size=7).map("".join)
VALUES = st.text(st.sampled_from("ab/.[] \\\n{},"), max_size=12)


@settings(max_examples=1500, deadline=None)
@given(GLOBS, VALUES)
@example("a*", "ab/")
@example("**/a", "a")
@example("a**b", "a/x/b")
@example("[ab]", "a")
@example("[ab]", "[ab]")
@example("*", "")
@example("?a?", "bab")  # two `?`: each keeps its own position
@example("**a**", "b/ab/")  # two `**` likewise
def test_glob_to_matcher_agrees_with_the_reference(glob: str, value: str) -> None:
    assert glob_to_matcher(glob)(value) == reference(glob, value)


@settings(max_examples=800, deadline=None)
@given(GLOBS, VALUES)
def test_with_never_characters_no_wildcard_matches_them(glob: str, value: str) -> None:
    never = " \n"
    assert glob_to_matcher(glob, never=never)(value) == reference(glob, value, "/", never)


@settings(max_examples=500, deadline=None)
@given(GLOBS, VALUES)
def test_path_matches_is_the_matcher_after_folder_normalisation(glob: str, value: str) -> None:
    normal = glob.removeprefix("./")
    normal = normal + "**" if normal.endswith("/") else normal
    assert path_matches(glob, value) == reference(normal, value)


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("models/*", "models/a.yaml", True),
        ("models/*", "models/x/a.yaml", False),  # * never crosses /
        ("models/**", "models/x/y/a.yaml", True),  # ** spans folders
        ("models/**/a.yaml", "models/a.yaml", True),  # **/ may match nothing
        ("models/", "models/x/a.yaml", True),  # a folder matches below it
        ("./models/x.yaml", "models/x.yaml", True),
        ("models/[ab].yaml", "models/a.yaml", False),  # brackets are literal
        ("models/[ab].yaml", "models/[ab].yaml", True),
        ("models/?.yaml", "models/ab.yaml", False),
        ("models/a?yaml", "models/a/yaml", False),  # ? never matches /
        ("models/media/**", "models/mediax/a.yaml", False),
        ("models/media/**", "models/media/", True),
    ],
)
def test_documented_examples(glob: str, path: str, expected: bool) -> None:
    assert path_matches(glob, path) is expected


# Run in a child process with a timeout: the regex translation this replaces never returned.
PATHOLOGICAL = [
    ("**/" * 40 + "x", "a/" * 200 + "y"),
    ("**" * 60 + "x", "a" * 2000),
    ("*a" * 50 + "b", "a" * 2000),
    ("models/" + "**/a" * 30 + "z", "models/" + "a/" * 300),
]


def test_pathological_globs_finish_in_linear_time() -> None:
    code = (
        "from cam_gitops.check.globs import path_matches, glob_to_matcher, BLANKS\n"
        f"cases = {PATHOLOGICAL!r}\n"
        "print(*[path_matches(g, p) for g, p in cases], *[glob_to_matcher(g, never=BLANKS)(p) for g, p in cases])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"] * 8


def test_pathological_globs_agree_with_the_reference_on_short_values() -> None:
    for glob, _ in PATHOLOGICAL:
        for value in ("", "a", "x", "a/x", "a" * 9 + "b", "models/a/z", "models/aaz"):
            reference.cache_clear()
            assert path_matches(glob, value) == reference(glob, value), (glob, value)


# --- a helper for values that are not paths (IAM role ARNs) -------------------------------------

ROLE = "arn:aws:iam::111122223333:role/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ROLE + "allowed-writer", True),
        (ROLE + "allowed-", True),
        (ROLE + "allowed-prefix/AdminRole", False),  # * never crosses /
        (ROLE + "allowed- AdminRole", False),  # nor a space
        (ROLE + "allowed-x\narn:aws:iam::999999999999:role/Admin", False),  # nor a line break
        (ROLE + "allowed-x\x1b[0m", False),  # nor a control character
        (ROLE + "allowed-\u2028x", False),  # nor a Unicode line separator
        (ROLE.replace("111122223333", "999999999999") + "allowed-x", False),
    ],
)
def test_role_arn_globs_keep_star_within_one_segment(value: str, expected: bool) -> None:
    assert glob_to_matcher(ROLE + "allowed-*", never=BLANKS)(value) is expected


def test_blanks_are_exactly_the_whitespace_and_control_characters() -> None:
    expected = {chr(c) for c in range(0x110000) if chr(c).isspace() or unicodedata.category(chr(c)) == "Cc"}
    assert set(BLANKS) == expected


def test_a_glob_without_wildcards_is_an_exact_match() -> None:
    assert glob_to_matcher(ROLE + "writer")(ROLE + "writer")
    assert not glob_to_matcher(ROLE + "writer")(ROLE + "writer\n")


# --- globs that match every model file ----------------------------------------------------------

EVERYTHING = ["**", "**/**", "*/**", "**/*", "models/**", "models/", "./models/**", "models/**/*", "models/**/*.*"]
EVERYTHING += ["m*/**", "**s/**", "**.*", "models/**/?*", "*/**/*", "**/?*.*"]
NOT_EVERYTHING = ["*", "models/*", "models/a/**", "models/**/*.yaml", "**/*.json", "*/*/**", "models/**/*.[yj]*"]
NOT_EVERYTHING += ["models/**/*.y*", "model/**", "models/*/**", "models/**/a*", "models/**/??*.*", ""]


@pytest.mark.parametrize("glob", EVERYTHING)
def test_globs_that_match_every_model_file_are_recognised(glob: str) -> None:
    assert matches_everything(glob)
    assert model_file_not_matched(glob) is None


@pytest.mark.parametrize("glob", NOT_EVERYTHING)
def test_other_globs_are_not_and_a_model_file_they_miss_is_named(glob: str) -> None:
    assert not matches_everything(glob)
    missed = model_file_not_matched(glob)
    assert missed is not None and is_model_path(missed) and not path_matches(glob, missed)


def is_model_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        parts[0] == "models"
        and len(parts) >= 2
        and all(parts)
        and any(name.lower().endswith(s) and len(name) > len(s) for s in MODEL_SUFFIXES)
    )


MODEL_PATHS = st.builds(
    lambda folders, stem, suffix: "/".join(["models", *folders, stem + suffix]),
    st.lists(st.text(st.sampled_from("ab.*?[]"), min_size=1, max_size=3), max_size=3),
    st.text(st.sampled_from("ab.*?[]"), min_size=1, max_size=3),
    st.sampled_from([".yaml", ".yml", ".json", ".YAML", ".Json"]),
)
EVERYTHING_GLOB_PARTS = st.sampled_from(["models", "/", "*", "**", "**/", "?", ".", "a", "yaml", "json", "y"])


@settings(max_examples=600, deadline=None)
@given(st.lists(EVERYTHING_GLOB_PARTS, max_size=6).map("".join), st.lists(MODEL_PATHS, min_size=1, max_size=5))
def test_matches_everything_is_exact(glob: str, paths: list[str]) -> None:
    missed = model_file_not_matched(glob)
    if missed is None:  # then no model file escapes it
        assert all(path_matches(glob, path) for path in paths)
    else:  # and otherwise it names one that does
        assert is_model_path(missed) and not path_matches(glob, missed)
