"""What a rule yields, and how rule messages quote values."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from cam_gitops.loader import DocPath
from cam_gitops.model import ModelSpec


class Violation(NamedTuple):
    """What a rule found wrong, and at which field (() for the model as a whole)."""

    field: DocPath
    message: str
    crashed: bool = False  # the rule raised: it could not judge the model


RuleCheck = Callable[[ModelSpec, Any], Iterator[Violation]]


def is_int(value: Any) -> bool:
    """A JSON integer (not a bool, not a float)."""
    return type(value) is int


def shown(value: Any, limit: int = 80) -> str:
    """A value as messages quote it: JSON-like, control characters escaped, bounded length."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    text = "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
