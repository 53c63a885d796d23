"""Plan: a pure function of what files want and what AWS has. No I/O here.

Actions per model:
  update        live differs in a field the file sets
  no-op         every field the file sets already has that value
  error         the model could not be read (not found, access denied, ...)
  cannot-unset  a field was removed from the file, but the PATCH API cannot unset it
  unmanaged     the file was deleted (or no file manages a live model); never deleted in AWS
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

UPDATE = "update"
NO_OP = "no-op"
ERROR = "error"
CANNOT_UNSET = "cannot-unset"
UNMANAGED = "unmanaged"

FAILING_ACTIONS = frozenset({ERROR, CANNOT_UNSET})


@dataclass(frozen=True)
class FieldChange:
    """One field whose live value differs from the file's."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """The plan for one model."""

    path: str
    arn: str
    action: str
    diff: tuple[FieldChange, ...] = ()
    error: str | None = None
    unmanaged_fields: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether this change is an error that must fail the run."""
        return self.action in FAILING_ACTIONS


def leaves(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Flatten nested mappings to dotted paths; lists are compared whole."""
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from leaves(value[key], f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, value


def lookup(data: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path, or None where it is absent."""
    value: Any = data
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def diff_fields(desired: Mapping[str, Any], live: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Field-level differences, for the fields the file sets only."""
    return tuple(
        FieldChange(path, lookup(live, path), wanted)
        for path, wanted in leaves(desired)
        if lookup(live, path) != wanted
    )


def plan_model(
    path: str,
    arn: str,
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    removed_fields: Iterable[str] = (),
) -> Change:
    """The change one file asks of one live model."""
    from cam_gitops.model import UPDATABLE_FIELDS

    unset = tuple(sorted(f for f in removed_fields if live.get(f) not in (None, "", [], {})))
    unmanaged = tuple(f for f in UPDATABLE_FIELDS if f not in desired and live.get(f) is not None)
    diff = diff_fields(desired, live)
    if unset:
        listed = ", ".join(unset)
        message = (
            f"{listed} removed from the file, but UpdateConfiguredAudienceModel is a PATCH and cannot "
            "unset a field: the live value would stay. Put the field back with the value you want."
        )
        return Change(path, arn, CANNOT_UNSET, diff, message, unmanaged)
    action = UPDATE if diff else NO_OP
    return Change(path, arn, action, diff, None, unmanaged)


def error_change(path: str, arn: str, message: str) -> Change:
    """A model whose plan failed, with the AWS message."""
    return Change(path, arn, ERROR, error=message)


@dataclass(frozen=True)
class PlanSummary:
    """Counts of a plan, for summary lines and exit codes."""

    update: int
    no_op: int
    errors: int
    unmanaged: int

    @property
    def changes_pending(self) -> bool:
        """Whether anything would change (or drifted)."""
        return self.update > 0 or self.unmanaged > 0


def summarize(changes: Iterable[Change]) -> PlanSummary:
    """Count changes by action."""
    changes = list(changes)
    return PlanSummary(
        update=sum(c.action == UPDATE for c in changes),
        no_op=sum(c.action == NO_OP for c in changes),
        errors=sum(c.failed for c in changes),
        unmanaged=sum(c.action == UNMANAGED for c in changes),
    )
