"""The repository's one version pin: policy.yaml `required-version`, read by a strict PEP 440 reader.

The reader is compared with `packaging` (the reference, present in the test environment only)
over generated versions and specifiers: whatever both accept, they judge alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import VALID_MODEL, write_repo
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version as RefVersion

from cam_gitops import __version__
from cam_gitops.check.version import (
    OVERRIDE_ENV,
    VersionError,
    describe,
    is_release,
    parse_specifier,
    parse_version,
)

BIN = Path(sys.executable).parent

# -- the reader against packaging ---------------------------------------------------------------

numbers = st.integers(min_value=0, max_value=12)
releases = st.lists(numbers, min_size=1, max_size=4).map(lambda parts: ".".join(map(str, parts)))


@st.composite
def versions(draw: st.DrawFn, local: bool = True) -> str:
    text = draw(releases)
    if draw(st.booleans()):
        text += draw(st.sampled_from(["a", "b", "rc"])) + str(draw(numbers))
    if draw(st.booleans()):
        text += f".post{draw(numbers)}"
    if draw(st.booleans()):
        text += f".dev{draw(numbers)}"
    if local and draw(st.integers(0, 3)) == 0:
        text += "+" + draw(st.sampled_from(["g1a2b3c4", "g1a2b3c4.d20250101", "1", "abc.5"]))
    return text


@st.composite
def clauses(draw: st.DrawFn) -> str:
    operator = draw(st.sampled_from(["==", "!=", ">=", "<=", ">", "<", "~=", "==*", "!=*"]))
    if operator.endswith("*"):
        return operator[:2] + draw(releases) + ".*"
    if operator == "~=":
        return "~=" + draw(st.lists(numbers, min_size=2, max_size=4).map(lambda p: ".".join(map(str, p))))
    return operator + draw(versions(local=operator in ("==", "!=")))


@settings(max_examples=1000, deadline=None)
@given(versions(), versions())
def test_ordering_agrees_with_packaging(left: str, right: str) -> None:
    ours = (parse_version(left).key() > parse_version(right).key()) - (
        parse_version(left).key() < parse_version(right).key()
    )
    ref = (RefVersion(left) > RefVersion(right)) - (RefVersion(left) < RefVersion(right))
    assert ours == ref, (left, right)


@settings(max_examples=1000, deadline=None)
@given(versions(), st.lists(clauses(), min_size=1, max_size=3))
def test_specifiers_agree_with_packaging_for_an_installed_version(version: str, parts: list[str]) -> None:
    text = ",".join(parts)
    expected = SpecifierSet(text).contains(version, prereleases=True)
    assert parse_specifier(text).admits(parse_version(version)) == expected, (text, version)


@pytest.mark.parametrize(
    ("specifier", "version", "admitted"),
    [
        ("==0.3.1", "0.3.1", True),
        ("==0.3.1", "0.3.1+g1a2b3c4", True),  # a local build of the release
        ("==0.3.1", "0.3.1.post1.dev3+g1a2b3c4", False),  # three commits after the tag
        (">=0.3,<0.4", "0.3.7", True),
        (">=0.3,<0.4", "0.4.0", False),
        (">=0.3,<0.4", "0.4.0rc1", False),  # <0.4 never admits 0.4's own pre-releases
        (">=0.3,<0.4", "0.2.9", False),
        ("~=0.3.1", "0.3.9", True),
        ("~=0.3.1", "0.4.0", False),
        ("==0.3.*", "0.3.12", True),
        ("==0.3.*", "0.30.0", False),
        (">0.3.1", "0.3.1.post1", False),  # >V never admits V's post-releases
        ("!=0.3.2", "0.3.2", False),
    ],
)
def test_specifier_table(specifier: str, version: str, admitted: bool) -> None:
    assert parse_specifier(specifier).admits(parse_version(version)) is admitted


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0.3.1", 'did you mean "==0.3.1"?'),
        ("", "not a version specifier"),
        (">=0.3,", "not a version specifier"),
        ("=>0.3", "is not a comparison"),
        (">=0.3.*", "works only with == and !="),
        ("==0.3.1rc1.*", "follows release numbers only"),
        (">=0.3+local", "a local version (+...) works only with == and !="),
        ("~=1", "~= needs at least two numbers"),
        ("===0.3", "is not a comparison"),
        (">=v0.3", "is not a version such as"),
        (">=0.3-rc1", "is not a version such as"),
        (">=" + "9" * 4400, "is not a version such as"),
        ("==0.3 ; python_version>'3'", "is not a comparison"),
        ("==0.3 @ https://example.invalid/x.whl", "is not a version such as"),
    ],
)
def test_malformed_specifiers_are_refused_with_what_to_write(text: str, says: str) -> None:
    with pytest.raises(VersionError) as caught:
        parse_specifier(text)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("version", "words"),
    [
        ("0.3.1", "0.3.1 (release v0.3.1)"),
        ("0.3.1.post1.dev3+g1a2b3c4", "0.3.1.post1.dev3+g1a2b3c4 (3 commits after v0.3.1, commit 1a2b3c4)"),
        (
            "0.3.1.post1.dev1+g1a2b3c4.d20250101",
            "0.3.1.post1.dev1+g1a2b3c4.d20250101 (1 commit after v0.3.1, commit 1a2b3c4, with uncommitted changes)",
        ),
        ("0.0.post1.dev19+g5ca3a4e", "0.0.post1.dev19+g5ca3a4e (no release tag yet, commit 5ca3a4e)"),
        ("0.0", "0.0 (built without git metadata: no tag or commit known)"),
    ],
)
def test_describe_names_tag_distance_commit_and_dirty(version: str, words: str) -> None:
    assert describe(version) == words
    assert is_release(version) == words.endswith(f"(release v{version})")


def test_the_installed_version_is_the_one_the_build_derived_from_git() -> None:
    done = subprocess.run([str(BIN / "cam-gitops"), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"cam-gitops, version {__version__}"
    parse_version(__version__)  # a PEP 440 version, so a pin can be held against it
    git = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True, check=False)
    if git.returncode == 0 and not is_release(__version__):
        assert f"+g{git.stdout.strip()[:7]}" in __version__ or "commit " in describe(__version__)


# -- the pin in policy.yaml, end to end ----------------------------------------------------------


def _check(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", OVERRIDE_ENV)}
    environment.update(NO_COLOR="1", **env)
    return subprocess.run(
        [str(BIN / "cam-gitops"), "check"], cwd=root, env=environment, capture_output=True, text=True, check=False
    )


def _repo(tmp_path: Path, required: str) -> Path:
    root = write_repo(tmp_path, {"models/a.yaml": VALID_MODEL}, policy={"rules": {}})
    (root / "policy.yaml").write_text(f"required-version: {required!r}\nrules: {{}}\n", encoding="utf-8")
    return root


def test_a_release_outside_the_pin_refuses_to_run_with_exit_4_and_the_install_command(tmp_path: Path) -> None:
    done = _check(_repo(tmp_path, ">=999.0,<1000"))
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == (
        f"policy.yaml:1:19: error [policy] cam-gitops {__version__} is installed, but policy.yaml "
        "required-version is >=999.0,<1000: install a release inside it (pip install 'cam-gitops>=999.0,<1000'), "
        "and set the pre-commit hook's rev to its tag"
    )


def test_the_installed_release_inside_the_pin_runs(tmp_path: Path) -> None:
    done = _check(_repo(tmp_path, f"=={__version__}"))
    assert (done.returncode, done.stdout) == (0, "checked 1 file: no problems\n")


@pytest.mark.parametrize(("written", "message"), [("0.3", 'did you mean "==0.3"?'), ("latest", "is not a comparison")])
def test_a_malformed_pin_is_an_invalid_policy(tmp_path: Path, written: str, message: str) -> None:
    done = _check(_repo(tmp_path, written))
    assert done.returncode == 4
    assert "policy.yaml:1:19: error [policy] required-version: " in done.stdout and message in done.stdout


def test_the_gate_can_enforce_the_base_branch_pin_and_says_so(tmp_path: Path) -> None:
    root = _repo(tmp_path, ">=999.0")  # the pull request moves the pin to a release the gate does not run
    done = _check(root, **{OVERRIDE_ENV: f"=={__version__}"})
    assert done.returncode == 0, done.stdout
    assert f"required-version >=999.0 is not enforced in this run: {OVERRIDE_ENV} (=={__version__}) replaces it" in (
        done.stdout
    )
    refused = _check(root, **{OVERRIDE_ENV: ">=999.0"})
    assert refused.returncode == 4 and f"but {OVERRIDE_ENV} is >=999.0" in refused.stdout
