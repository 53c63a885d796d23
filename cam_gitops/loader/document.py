"""What the readers produce: a document with the source position of every value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cam_gitops.findings import Finding, Position

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32
MODEL_SUFFIXES = (".yaml", ".yml", ".json")

DocPath = tuple[str | int, ...]

_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?\Z|[-+]?[0-9]+[eE][-+]?[0-9]+\Z"
    r"|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z"
)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


@dataclass(frozen=True)
class SourceDocument:
    """A parsed file: its data plus where each key and value stands in the source."""

    path: str
    data: dict[str, Any]
    value_positions: Mapping[DocPath, Position]
    key_positions: Mapping[DocPath, Position]
    quoted: frozenset[DocPath]
    notes: tuple[Finding, ...] = ()

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


@dataclass(frozen=True)
class LoadResult:
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


def byte_position(raw: bytes, offset: int) -> Position:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Position(raw.count(b"\n", 0, offset) + 1, column)


def mark_position(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def resolve_plain(value: str) -> Any:
    """Type a plain YAML scalar the strict way: only plain decimal digits make an integer.

    YAML 1.1 loaders turn `yes` into True, `0x1F4` and `1_000` into integers and `2024-01-01`
    into a date; here those stay strings so the schema reports them where an integer is due.
    """
    if _PLAIN_INT.match(value):
        return int(value)
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _PLAIN_FLOAT.match(value):
        return float(value)
    return value
