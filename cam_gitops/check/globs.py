"""Globs over repository paths (and other /-separated values), matched in linear time.

Syntax, always matched against the whole value:

- `*` matches any run of characters within one folder or file name: never `/`.
- `?` matches one character, never `/`.
- `**` matches any run of characters, `/` included: it spans folders. `**/` also matches
  nothing, so `models/**/a.yaml` matches `models/a.yaml` and `models/x/y/a.yaml`.
- Every other character matches itself: `[`, `]`, `{`, `}` and `\\` are not special.

A glob is compiled to a Thompson automaton (one bit per glob position) run as a lazily built
DFA: matching costs O(len(value)) table look-ups once warm and O(len(glob) * len(value)) at
worst, whatever the glob holds. A regex translation backtracks: many `**` groups took
exponential time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

Matcher = Callable[[str], bool]

# Every character that str.isspace() or Unicode category Cc holds: wildcards of a value that
# is not a path (an ARN) should never match these.
BLANKS = (
    "".join(map(chr, range(0x21)))
    + "\x7f"
    + "".join(map(chr, range(0x80, 0xA0)))
    + "\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)

_MAX_DFA_STATES = 4096  # beyond this, steps are computed and not kept: memory stays bounded
_MAX_SEARCH = 20000  # states explored to decide whether a glob matches every model file


@dataclass
class _Automaton:
    """A glob as bit masks: bit i is 'the first i tokens of the glob are matched'."""

    literal: dict[str, int]  # character -> positions whose token is that character
    one: int  # positions of `?`
    star: int  # positions of `*` (loop on anything but separators and never-characters)
    deep: int  # positions of `**` (loop on anything but never-characters)
    skip_one: int  # positions that may also be left without reading (a star matching nothing)
    skip_group: int  # entry positions of `**/`, which may match nothing at all
    final: int
    separator: frozenset[str]
    never: frozenset[str]
    start: int = 0
    table: dict[int, dict[str, int]] = field(default_factory=dict)

    def close(self, states: int) -> int:
        while True:
            grown = states | ((states & self.skip_one) << 1) | ((states & self.skip_group) << 3)
            if grown == states:
                return states
            states = grown

    def step(self, states: int, char: str) -> int:
        moved = (states & self.literal.get(char, 0)) << 1
        if char not in self.never:
            moved |= states & self.deep
            if char not in self.separator:
                moved |= ((states & self.one) << 1) | (states & self.star)
        return self.close(moved) if moved else 0

    def run(self, value: str) -> int:
        """The set of glob positions reached after reading value (0: no way to match)."""
        states = self.start
        table = self.table
        for char in value:
            row = table.get(states)
            if row is None:
                row = {}
                if len(table) < _MAX_DFA_STATES:
                    table[states] = row
            following = row.get(char)
            if following is None:
                following = row[char] = self.step(states, char)
            if not following:
                return 0
            states = following
        return states

    def matches(self, value: str) -> bool:
        return bool(self.run(value) & self.final)


def _automaton(tokens: list[tuple[str, frozenset[str]]], separator: str, never: str) -> _Automaton:
    """An automaton from tokens: ("lit", chars), ("?", _), ("*", _), ("**", _), ("**/", _)."""
    literal: dict[str, int] = {}
    one = star = deep = skip_one = skip_group = 0
    position = 0
    for kind, chars in tokens:
        bit = 1 << position
        if kind == "lit":
            for char in chars:
                literal[char] = literal.get(char, 0) | bit
        elif kind == "?":
            one |= bit
        elif kind == "*":
            star |= bit
            skip_one |= bit
        elif kind == "**":
            deep |= bit
            skip_one |= bit
        else:  # "**/" is (?:.*/)? in three positions: entry (may skip all), the .* loop, the /
            skip_group |= bit
            skip_one |= bit | bit << 1
            deep |= bit << 1
            literal["/"] = literal.get("/", 0) | bit << 2
            position += 2
        position += 1
    automaton = _Automaton(
        literal, one, star, deep, skip_one, skip_group, 1 << position, frozenset(separator), frozenset(never)
    )
    automaton.start = automaton.close(1)
    return automaton


def _tokens(glob: str) -> list[tuple[str, frozenset[str]]]:
    tokens: list[tuple[str, frozenset[str]]] = []
    index = 0
    while index < len(glob):
        for kind in ("**/", "**", "*", "?"):
            if glob.startswith(kind, index):
                tokens.append((kind, frozenset()))
                index += len(kind)
                break
        else:
            tokens.append(("lit", frozenset(glob[index])))
            index += 1
    return tokens


@functools.lru_cache(maxsize=1024)
def _compiled(glob: str, separator: str, never: str) -> _Automaton:
    return _automaton(_tokens(glob), separator, never)


def glob_to_matcher(glob: str, *, separator: str = "/", never: str = "") -> Matcher:
    """A function telling whether a whole value matches glob, in linear time.

    `*` matches any run of characters, and `?` one character, other than those in separator
    and never; `**` matches any run of characters other than those in never (it crosses the
    separator); `**/` may also match nothing. Every other character of the glob, brackets
    included, matches itself. For an IAM role ARN, `glob_to_matcher(glob, never=BLANKS)`
    keeps `*` within one path segment and never lets a wildcard match a space, a line break
    or a control character.
    """
    if not any(char in glob for char in "*?"):
        return lambda value: value == glob  # no wildcard: the value must be the glob itself
    return _compiled(glob, separator, never).matches


def _normalized(glob: str) -> str:
    glob = glob.removeprefix("./")
    return glob + "**" if glob.endswith("/") else glob


def path_matches(glob: str, path: str) -> bool:
    """Whether a repository-relative path (with /) matches a glob; a folder matches below it."""
    glob = _normalized(glob)
    if "*" not in glob and "?" not in glob:
        return glob == path
    if glob.endswith("/**") and not any(char in glob[:-3] for char in "*?"):
        return path.startswith(glob[:-2])  # the common models/team/** form: a prefix
    return _compiled(glob, "/", "").matches(path)


# --- does a glob match every model file? -------------------------------------------------------

_CASES = {char: frozenset({char, char.upper()}) for char in "yamljson"}
_DOT = ("lit", frozenset("."))


def _model_files(suffix: str) -> list[tuple[str, frozenset[str]]]:
    """models/ then any folders, then a name of one character or more ending in suffix (any case)."""
    head = [("lit", frozenset(char)) for char in "models/"]
    return [*head, ("**/", frozenset()), ("?", frozenset()), ("*", frozenset()), _DOT] + [
        ("lit", _CASES[char]) for char in suffix
    ]


def model_file_not_matched(glob: str) -> str | None:
    """A model file path (models/..., .yaml/.yml/.json) the glob does not match, or None.

    None means the glob matches every model file, as `**`, `models/**`, `*/**` and
    `models/**/*.*` do. Decided exactly, by exploring the product of the glob's automaton
    with the automaton of model file paths; a glob too complex to explore within a bound is
    reported as matching everything, so that it is looked at rather than let through.
    """
    wanted = _compiled(_normalized(glob), "/", "")
    for suffix in ("yaml", "yml", "json"):
        witness = _unmatched(wanted, _automaton(_model_files(suffix), "/", ""))
        if witness is not None:
            return witness
    return None


def matches_everything(glob: str) -> bool:
    """Whether a glob (waiver path, override path) matches every model file."""
    return model_file_not_matched(glob) is None


def _unmatched(glob: _Automaton, files: _Automaton) -> str | None:
    """Shortest value that files accepts and glob does not, by breadth-first search.

    Paths never hold an empty folder name (//), so the search never writes one: the state
    carries whether the last character was a `/`.
    """
    literals = set(glob.literal) | set(files.literal)
    other = next(c for c in "xqz_0123456789" + "".join(map(chr, range(0xE000, 0xE100))) if c not in literals)
    alphabet = [other, *sorted(literals, key=lambda c: (c.isupper(), c))]
    start = (glob.start, files.start, False)
    seen = {start}
    frontier: list[tuple[int, int, bool, str]] = [(*start, "")]
    while frontier and len(seen) < _MAX_SEARCH:
        following: list[tuple[int, int, bool, str]] = []
        for glob_states, file_states, after_slash, text in frontier:
            if file_states & files.final and not glob_states & glob.final:
                return text
            for char in alphabet:
                next_files = files.step(file_states, char)
                if not next_files or (after_slash and char == "/"):
                    continue
                state = (glob.step(glob_states, char) if glob_states else 0, next_files, char == "/")
                if state not in seen:
                    seen.add(state)
                    following.append((*state, text + char))
        frontier = following
    return None
