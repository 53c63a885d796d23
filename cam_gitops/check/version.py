"""The one version pin of a repository: `required-version` in policy.yaml.

A small strict reader of PEP 440 versions and specifiers (the canonical spellings only), so the
installed release can be held against the pin without shipping `packaging`. The hook, CI and
laptops all run the release the pin names; outside it the tool refuses to run (exit 4).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any

from cam_gitops import __version__
from cam_gitops.findings import Finding, error, warning

KEY = "required-version"
OVERRIDE_ENV = "CAM_GITOPS_REQUIRED_VERSION"
PACKAGE = "cam-gitops"

_VERSION = re.compile(
    r"(?:(?P<epoch>[0-9]+)!)?"
    r"(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?:(?P<pre_l>a|b|rc)(?P<pre_n>[0-9]+))?"
    r"(?:\.post(?P<post>[0-9]+))?"
    r"(?:\.dev(?P<dev>[0-9]+))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:\.[a-z0-9]+)*))?",
)
_CLAUSE = re.compile(r"(?P<op>~=|==|!=|<=|>=|<|>)(?P<version>[^,<>=!~\s]+)")
_PRE_ORDER = {"a": 0, "b": 1, "rc": 2}
_MAX_DIGITS = 30  # a version number is not a place for 4,300-digit integers


class VersionError(ValueError):
    """A version or specifier this reader does not accept; the message says what to write."""


@dataclass(frozen=True)
class Version:
    """A PEP 440 version, ordered as PEP 440 orders them."""

    text: str
    epoch: int
    release: tuple[int, ...]
    pre: tuple[str, int] | None
    post: int | None
    dev: int | None
    local: tuple[int | str, ...] | None

    @property
    def is_prerelease(self) -> bool:
        return self.pre is not None or self.dev is not None

    @property
    def is_postrelease(self) -> bool:
        return self.post is not None

    @property
    def base(self) -> tuple[int, tuple[int, ...]]:
        """Epoch and release, trailing zeros dropped (1.0 and 1.0.0 are one release)."""
        return self.epoch, _strip_zeros(self.release)

    def key(self, with_local: bool = True) -> tuple[Any, ...]:
        """Sort key: dev < pre-releases < release < post-releases; local versions after the public one."""
        if self.pre is None and self.post is None and self.dev is not None:
            pre: tuple[int, ...] = (0,)
        elif self.pre is None:
            pre = (3,)
        else:
            pre = (1, _PRE_ORDER[self.pre[0]], self.pre[1])
        post = (0,) if self.post is None else (1, self.post)
        dev = (1,) if self.dev is None else (0, self.dev)
        local: tuple[Any, ...] = (0,)
        if with_local and self.local is not None:
            local = (1, tuple((1, part, "") if isinstance(part, int) else (0, 0, part) for part in self.local))
        return (*self.base, pre, post, dev, local)


def parse_version(text: str) -> Version:
    """A version in canonical PEP 440 form, e.g. 0.3.1, 1.0rc1, 0.3.1.post1.dev3+g1a2b3c4."""
    match = _VERSION.fullmatch(text)
    if match is None or any(len(n) > _MAX_DIGITS for n in re.findall(r"[0-9]+", text)):
        raise VersionError(f"{text!r} is not a version such as 0.3.1, 1.0rc1 or 0.3.1.post2.dev5")
    pre = (match["pre_l"], int(match["pre_n"])) if match["pre_l"] else None
    local = None
    if match["local"]:
        local = tuple(int(p) if p.isdigit() else p for p in match["local"].split("."))
    return Version(
        text=text,
        epoch=int(match["epoch"] or 0),
        release=tuple(int(p) for p in match["release"].split(".")),
        pre=pre,
        post=None if match["post"] is None else int(match["post"]),
        dev=None if match["dev"] is None else int(match["dev"]),
        local=local,
    )


@dataclass(frozen=True)
class Clause:
    """One comparison of a specifier, e.g. `>=0.3` or `==0.3.*`."""

    operator: str
    version: Version
    prefix: bool  # ==X.* or !=X.*

    def admits(self, candidate: Version) -> bool:
        """Whether candidate satisfies this clause (pre-releases compared, not excluded: it is installed)."""
        if self.operator in ("==", "!="):
            equal = self._prefix_equal(candidate) if self.prefix else self._equal(candidate)
            return equal if self.operator == "==" else not equal
        if self.operator == "~=":
            return candidate.key(False) >= self.version.key() and self._compatible_prefix(candidate)
        ours, theirs = candidate.key(False), self.version.key()
        if self.operator == ">=":
            return ours >= theirs
        if self.operator == "<=":
            return ours <= theirs
        if self.operator == "<":
            # <1.0 stops below 1.0.dev0: it never admits 1.0's own pre-releases, unless 1.0 is one
            limit = self.version
            if limit.pre is None and limit.dev is None:
                limit = replace(limit, dev=0, local=None)
            return ours < limit.key()
        if candidate.base != self.version.base or self.version.dev is not None or self.version.post is not None:
            return ours > theirs
        # >1.0 never admits 1.0's post-releases (nor 1.0rc1's for >1.0rc1), nor local builds of 1.0
        return ours > theirs and candidate.pre != self.version.pre

    def _equal(self, candidate: Version) -> bool:
        if self.version.local is None:
            return candidate.key(False) == self.version.key()
        return candidate.key() == self.version.key()

    def _prefix_equal(self, candidate: Version) -> bool:
        if candidate.epoch != self.version.epoch:
            return False
        wanted = self.version.release
        have = candidate.release + (0,) * max(0, len(wanted) - len(candidate.release))
        return have[: len(wanted)] == wanted

    def _compatible_prefix(self, candidate: Version) -> bool:
        wanted = self.version.release[:-1]
        have = candidate.release + (0,) * max(0, len(wanted) - len(candidate.release))
        return candidate.epoch == self.version.epoch and have[: len(wanted)] == wanted


@dataclass(frozen=True)
class Specifier:
    """A comma-separated set of clauses; a version satisfies it when it satisfies each one."""

    text: str
    clauses: tuple[Clause, ...]

    def admits(self, version: Version) -> bool:
        return all(clause.admits(version) for clause in self.clauses)


def parse_specifier(text: str) -> Specifier:
    """A PEP 440 specifier such as `>=0.3,<0.4`, `==0.3.1`, `~=0.3.1` or `==0.3.*`."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise VersionError(f'{text!r} is not a version specifier; write e.g. "==0.3.1" or ">=0.3,<0.4"')
    clauses = tuple(_parse_clause(part) for part in parts)
    return Specifier(",".join(f"{c.operator}{_clause_text(c)}" for c in clauses), clauses)


def _parse_clause(part: str) -> Clause:
    match = _CLAUSE.fullmatch(part.replace(" ", ""))
    if match is None:
        hint = f'; did you mean "=={part}"?' if _VERSION.fullmatch(part) else ""
        raise VersionError(f"{part!r} is not a comparison such as ==0.3.1, >=0.3, <0.4, ~=0.3.1 or ==0.3.*{hint}")
    operator, raw = match["op"], match["version"]
    prefix = raw.endswith(".*")
    if prefix and operator not in ("==", "!="):
        raise VersionError(f"{part!r}: a trailing .* works only with == and !=")
    version = parse_version(raw[:-2] if prefix else raw)
    if prefix and (version.pre or version.post is not None or version.dev is not None or version.local):
        raise VersionError(f"{part!r}: a trailing .* follows release numbers only, e.g. ==0.3.*")
    if version.local is not None and operator not in ("==", "!="):
        raise VersionError(f"{part!r}: a local version (+...) works only with == and !=")
    if operator == "~=" and len(version.release) < 2:
        raise VersionError(f"{part!r}: ~= needs at least two numbers, e.g. ~=0.3 or ~=0.3.1")
    return Clause(operator, version, prefix)


def _clause_text(clause: Clause) -> str:
    return clause.version.text + (".*" if clause.prefix else "")


def _strip_zeros(release: tuple[int, ...]) -> tuple[int, ...]:
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return release[:end]


def install_command(specifier: str) -> str:
    """The command that installs a release inside the specifier."""
    return f"pip install '{PACKAGE}{specifier}'"


def required_version_findings(document: Any, installed: str = __version__) -> list[Finding]:
    """Findings when policy.yaml's required-version is malformed or the installed release is outside it.

    CAM_GITOPS_REQUIRED_VERSION, when set, stands in for the file's value: a pull request's gate
    runs the base branch's pin while the pull request may be the one that moves it.
    """
    data = document.data
    if KEY not in data:
        return []
    position = document.locate((KEY,))
    try:
        wanted = parse_specifier(data[KEY])
    except VersionError as exc:
        return [error(document.path, position, "policy", f"{KEY}: {exc}")]
    findings: list[Finding] = []
    override = os.environ.get(OVERRIDE_ENV, "").strip()
    source = f"{document.path} {KEY}"
    if override:
        try:
            enforced = parse_specifier(override)
        except VersionError as exc:
            return [error(document.path, position, "policy", f"{OVERRIDE_ENV}: {exc}")]
        if enforced.text != wanted.text:
            findings.append(
                warning(
                    document.path,
                    position,
                    "policy",
                    f"{KEY} {wanted.text} is not enforced in this run: {OVERRIDE_ENV} ({enforced.text}) "
                    "replaces it (a pull request's gate runs the base branch's pin)",
                )
            )
        wanted, source = enforced, OVERRIDE_ENV
    try:
        version = parse_version(installed)
    except VersionError:
        return [*findings, error(document.path, position, "policy", f"cannot read the installed version {installed!r}")]
    if not wanted.admits(version):
        findings.append(
            error(
                document.path,
                position,
                "policy",
                f"cam-gitops {installed} is installed, but {source} is {wanted.text}: "
                f"install a release inside it ({install_command(wanted.text)}), "
                "and set the pre-commit hook's rev to its tag",
            )
        )
    return findings


def describe(installed: str = __version__) -> str:
    """Which commit a version names, in words: tag, commits since, commit, uncommitted changes."""
    try:
        version = parse_version(installed)
    except VersionError:
        return f"{installed} (not a PEP 440 version)"
    if version.local is None and version.dev is None and version.post is None:
        if version.release == (0, 0):
            return f"{installed} (built without git metadata: no tag or commit known)"
        return f"{installed} (release v{installed})"
    words = []
    tag = ".".join(map(str, version.release))
    if version.release == (0, 0):
        words.append("no release tag yet")
    elif version.dev is not None:
        words.append(f"{version.dev} commit{'s' if version.dev != 1 else ''} after v{tag}")
    local = [str(part) for part in version.local or ()]
    commit = next((p[1:] for p in local if p.startswith("g") and len(p) > 1), None)
    if commit:
        words.append(f"commit {commit}")
    if any(p.startswith("d") and p[1:].isdigit() for p in local):
        words.append("with uncommitted changes")
    return f"{installed} ({', '.join(words)})" if words else installed


def is_release(installed: str = __version__) -> bool:
    """Whether a version is a tagged release (no commits after the tag, no local changes)."""
    try:
        version = parse_version(installed)
    except VersionError:
        return False
    return version.dev is None and version.local is None and version.release != (0, 0)
