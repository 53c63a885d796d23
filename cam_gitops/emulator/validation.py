"""Server-side validation driven by the constraints in botocore's service model.

Messages follow the wording AWS services use for ``ValidationException``
("1 validation error detected: Value '10' at 'minMatchingSeedSize' failed to
satisfy constraint: Member must have value greater than or equal to 25"), so
clients and humans see the field name just as with the real service.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .model import ServiceModel, Shape


class ValidationFailure(Exception):
    """Raised with the complete, client-facing validation message."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(format_errors(errors))


def format_errors(errors: list[str]) -> str:
    """Join individual violations into the AWS-style summary message."""
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} validation {noun} detected: " + "; ".join(errors)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def render(value: Any) -> str:
    """Render a value roughly as the (Java-based) AWS services print it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _violation(value: Any, path: str, constraint: str) -> str:
    shown = "null" if value is None else f"'{render(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: Member {constraint}"


def validate(model: ServiceModel, shape_name: str, value: Any, path: str = "") -> list[str]:
    """Return every constraint violation of ``value`` against shape ``shape_name``.

    ``path`` is the dotted member path used in messages; the top-level
    structure itself has an empty path.
    """
    shape = model.shape(shape_name)
    checker = _CHECKERS.get(shape["type"])
    if checker is None:
        return []
    return checker(model, shape, value, path)


def validate_or_raise(model: ServiceModel, shape_name: str, value: Any) -> None:
    """Validate and raise :class:`ValidationFailure` when anything is wrong."""
    errors = validate(model, shape_name, value)
    if errors:
        raise ValidationFailure(errors)


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _check_structure(model: ServiceModel, shape: Shape, value: Any, path: str) -> list[str]:
    if not isinstance(value, Mapping):
        return [_violation(value, path or "<root>", "must be a structure")]
    errors: list[str] = []
    for name in shape.get("required", []):
        if value.get(name) is None:
            errors.append(_violation(None, _join(path, name), "must not be null"))
    # Unknown members are ignored, as AWS JSON services do.
    for name, member in shape.get("members", {}).items():
        if value.get(name) is not None:
            errors.extend(validate(model, member["shape"], value[name], _join(path, name)))
    return errors


def _check_length(shape: Shape, value: Any, size: int, path: str) -> list[str]:
    errors: list[str] = []
    if "min" in shape and size < shape["min"]:
        errors.append(_violation(value, path, f"must have length greater than or equal to {shape['min']}"))
    if "max" in shape and size > shape["max"]:
        errors.append(_violation(value, path, f"must have length less than or equal to {shape['max']}"))
    return errors


def _check_list(model: ServiceModel, shape: Shape, value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        return [_violation(value, path, "must be a list")]
    errors = _check_length(shape, value, len(value), path)
    for index, item in enumerate(value, start=1):
        item_path = f"{path}.{index}.member"
        if item is None:
            errors.append(_violation(None, item_path, "must not be null"))
        else:
            errors.extend(validate(model, shape["member"]["shape"], item, item_path))
    return errors


def _check_map(model: ServiceModel, shape: Shape, value: Any, path: str) -> list[str]:
    if not isinstance(value, Mapping):
        return [_violation(value, path, "must be a map")]
    errors = _check_length(shape, value, len(value), path)
    for index, (key, item) in enumerate(value.items(), start=1):
        entry = f"{path}.{index}.member"
        errors.extend(validate(model, shape["key"]["shape"], key, f"{entry}.key"))
        if item is None:
            errors.append(_violation(None, f"{entry}.value", "must not be null"))
        else:
            errors.extend(validate(model, shape["value"]["shape"], item, f"{entry}.value"))
    return errors


def _check_string(model: ServiceModel, shape: Shape, value: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return [_violation(value, path, "must be a string")]
    errors = _check_length(shape, value, len(value), path)
    pattern = shape.get("pattern")
    # The service validates the whole value (Java's Matcher.matches), though botocore's
    # patterns are written without anchors.
    if pattern is not None and _compiled(pattern).fullmatch(value) is None:
        errors.append(_violation(value, path, f"must satisfy regular expression pattern: {pattern}"))
    enum = shape.get("enum")
    if enum is not None and value not in enum:
        errors.append(_violation(value, path, f"must satisfy enum value set: [{', '.join(enum)}]"))
    return errors


def _check_range(shape: Shape, value: float, path: str) -> list[str]:
    errors: list[str] = []
    if "min" in shape and value < shape["min"]:
        errors.append(_violation(value, path, f"must have value greater than or equal to {shape['min']}"))
    if "max" in shape and value > shape["max"]:
        errors.append(_violation(value, path, f"must have value less than or equal to {shape['max']}"))
    return errors


def _check_integer(model: ServiceModel, shape: Shape, value: Any, path: str) -> list[str]:
    # bool is an int subclass in Python but never a valid JSON integer.
    if isinstance(value, bool) or not isinstance(value, int):
        return [_violation(value, path, "must be an integer")]
    return _check_range(shape, value, path)


def _check_float(model: ServiceModel, shape: Shape, value: Any, path: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [_violation(value, path, "must be a number")]
    return _check_range(shape, float(value), path)


def _check_boolean(model: ServiceModel, shape: Shape, value: Any, path: str) -> list[str]:
    if not isinstance(value, bool):
        return [_violation(value, path, "must be a boolean")]
    return []


def _check_timestamp(model: ServiceModel, shape: Shape, value: Any, path: str) -> list[str]:
    if to_datetime(value) is None:
        return [_violation(value, path, "must be a timestamp")]
    return []


def to_datetime(value: Any) -> dt.datetime | None:
    """Coerce a datetime, epoch seconds or ISO 8601 string to an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return to_datetime(parsed)
    return None


_CHECKERS = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "integer": _check_integer,
    "long": _check_integer,
    "float": _check_float,
    "double": _check_float,
    "boolean": _check_boolean,
    "timestamp": _check_timestamp,
}
