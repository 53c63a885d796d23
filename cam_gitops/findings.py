"""Findings: what every check, rule and loader reports, with a source position."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple


class Severity(str, Enum):
    """How bad a finding is. Errors fail the run; warnings fail it only with --strict."""

    ERROR = "error"
    WARNING = "warning"


class Position(NamedTuple):
    """A 1-based line and column in a file."""

    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Finding:
    """One problem in one file, at one position, found by one rule."""

    path: str
    position: Position
    rule: str
    severity: Severity
    message: str

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order findings by file, line, column, then rule, so output never churns."""
        return (self.path, self.position.line, self.position.column, self.rule, self.message)


def error(path: str, position: Position, rule: str, message: str) -> Finding:
    """Build an error finding."""
    return Finding(path, position, rule, Severity.ERROR, message)


def warning(path: str, position: Position, rule: str, message: str) -> Finding:
    """Build a warning finding."""
    return Finding(path, position, rule, Severity.WARNING, message)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in a stable order, duplicates removed."""
    return sorted(set(findings), key=lambda f: f.sort_key)
