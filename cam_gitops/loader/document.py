"""What the readers produce: a document with the source position of every value.

Also the limits and value checks every reader applies the same way, so that a YAML file, its
fast path and a JSON file are refused for the same reasons with the same messages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cam_gitops.findings import Finding, Position

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32
# Every key a model or policy file uses is a few dozen characters. libyaml refuses implicit
# keys longer than 1024 characters; one lower limit of our own, applied by every reader, gives
# one message for all of them.
MAX_KEY_CHARS = 256
# Python's default limit for int(str); no value in a model or policy needs a tenth of it, and
# a fixed number keeps the outcome independent of PYTHONINTMAXSTRDIGITS.
MAX_INT_DIGITS = 4300
MODEL_SUFFIXES = (".yaml", ".yml", ".json")

DocPath = tuple[str | int, ...]

_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?\Z|[-+]?[0-9]+[eE][-+]?[0-9]+\Z")
_NON_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
# Integers of the YAML 1.2 core schema that are not plain decimal digits: read as strings
# here, as numbers by other YAML 1.2 tools.
_CORE_INT = re.compile(r"[-+]?[0-9]+\Z|0o[0-7]+\Z|0x[0-9a-fA-F]+\Z")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_SURROGATE = re.compile("[\ud800-\udfff]")

NON_FINITE_RULE = "non-finite numbers are never valid in a model or policy file"
DEEP = f"nesting deeper than {MAX_DEPTH} levels; model and policy files are shallow"


class FileKind(NamedTuple):
    """What a file is for, to word the messages about its whole content."""

    noun: str
    needs: str  # what an empty file lacks
    top_level: str  # what the top level must be


MODEL_FILE = FileKind(
    "model file",
    "a model file needs at least configuredAudienceModelArn",
    "a model file must be a mapping of request keys (configuredAudienceModelArn: ...)",
)
POLICY_FILE = FileKind(
    "policy file",
    "a policy that sets no rules is refused: write `rules:` with the rules every model must follow, "
    "or `rules: {}` to enforce no org rules on purpose",
    "a policy file must be a mapping with `rules:` (and optionally `overrides:`, `waivers:`)",
)


@dataclass(frozen=True)
class SourceDocument:
    """A parsed file: its data plus where each key and value stands in the source."""

    path: str
    data: dict[str, Any]
    value_positions: Mapping[DocPath, Position]
    key_positions: Mapping[DocPath, Position]
    quoted: frozenset[DocPath]
    notes: tuple[Finding, ...] = ()
    # plain YAML scalars read as strings that YAML 1.2 tools read as numbers (+1000, 0x1F, 007)
    numberlike: frozenset[DocPath] = frozenset()

    def locate(self, doc_path: DocPath) -> Position:
        """Position of the value at doc_path, or of its nearest ancestor that exists."""
        for end in range(len(doc_path), -1, -1):
            position = self.value_positions.get(doc_path[:end])
            if position is not None:
                return position
        return Position(1, 1)

    def locate_key(self, doc_path: DocPath) -> Position:
        """Position of the key naming doc_path, falling back to its value's position."""
        return self.key_positions.get(doc_path) or self.locate(doc_path)


class LoadResult(NamedTuple):
    """Either a document or the findings that explain why there is none."""

    document: SourceDocument | None
    findings: tuple[Finding, ...]


class Refused(Exception):
    """Raised inside the parsers to abandon a file at a position with a message."""

    def __init__(self, position: Position, message: str, rule: str = "parse") -> None:
        super().__init__(message)
        self.position = position
        self.message = message
        self.rule = rule


@dataclass
class Builder:
    """Collects positions while a parser walks a file."""

    value_positions: dict[DocPath, Position] = field(default_factory=dict)
    key_positions: dict[DocPath, Position] = field(default_factory=dict)
    quoted: set[DocPath] = field(default_factory=set)
    duplicates: list[tuple[Position, str, Position]] = field(default_factory=list)
    numberlike: set[DocPath] = field(default_factory=set)


def byte_position(raw: bytes, offset: int) -> Position:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Position(raw.count(b"\n", 0, offset) + 1, column)


def mark_position(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def resolve_plain(value: str, path: DocPath, builder: Builder) -> Any:
    """Type a plain YAML scalar the strict way: only plain decimal digits make an integer.

    YAML 1.1 loaders turn `yes` into True, `0x1F4` and `1_000` into integers and `2024-01-01`
    into a date; here those stay strings so the schema reports them where an integer is due.
    The YAML 1.2 integers that are not plain digits (`+1000`, `007`, `0x1F4`, `0o17`) are
    strings too, and noted in builder.numberlike so that a string reading is never silent.
    Non-finite numbers and integers too long to read are refused.
    """
    if _PLAIN_INT.match(value):
        return read_int(value, builder.value_positions[path])
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _PLAIN_FLOAT.match(value):
        return read_float(value, builder.value_positions[path])
    if _NON_FINITE.match(value):
        raise Refused(
            builder.value_positions[path],
            f"{value} is not a finite number; {NON_FINITE_RULE}: write a number, or quote it to make a string",
        )
    if _CORE_INT.match(value):
        builder.numberlike.add(path)
    return value


def read_int(text: str, position: Position) -> int:
    """int(text) of a literal already known to be an integer, or Refused when too long."""
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise Refused(position, too_long_number(digits))
    try:
        return int(text)
    except ValueError:  # a lower limit set through PYTHONINTMAXSTRDIGITS
        raise Refused(position, too_long_number(digits)) from None


def too_long_number(digits: int) -> str:
    return (
        f"number with {digits} digits is too long to read (the limit is {MAX_INT_DIGITS}); "
        "no value in a model or policy file needs more than a few digits"
    )


def read_float(text: str, position: Position) -> float:
    """float(text) of a literal already known to be a number, or Refused when not finite."""
    value = float(text)
    if not math.isfinite(value):
        raise Refused(position, f"{text} is too large to be a finite number; {NON_FINITE_RULE}")
    return value


def check_text(value: str, position: Position) -> None:
    """Refuse a string that cannot be encoded as UTF-8 (a lone surrogate from an escape)."""
    if not value.isascii():
        found = _SURROGATE.search(value)
        if found is not None:
            raise Refused(
                position,
                f"string holds \\u{ord(found.group()):04x}, half of a UTF-16 surrogate pair, which cannot be "
                "encoded as UTF-8; write the character itself, or both halves of the pair",
            )


def check_key(key: str, position: Position) -> None:
    """Refuse a key that is too long or cannot be encoded as UTF-8."""
    if len(key) > MAX_KEY_CHARS:
        raise Refused(position, too_long_key(len(key)))
    check_text(key, position)


def too_long_key(length: int) -> str:
    return (
        f"key of {length} characters is too long; keys are at most {MAX_KEY_CHARS} characters "
        "(every key of a model or policy file is short)"
    )
