"""Plan: a pure function of what files want and what AWS has. No I/O here.

Actions per model:
  update        live differs in a field the file sets
  no-op         every field the file sets already has that value
  error         the model could not be read (not found, access denied, ...)
  cannot-unset  a field was removed from the file, but the PATCH API cannot unset it
  refused       the model after the update would break the policy through a live value the
                file does not set; apply refuses it until the file sets that field
  unmanaged     the file was deleted, or its ARN changed, or no file manages a live model;
                never deleted in AWS
  ignored       a live model no file manages, listed in policy.yaml's ignore-unmanaged

Besides the action, a change says what else a reviewer must see: the live values of fields
the file does not set, a file whose ARN changed (retarget), and rule values that changed
because the file moved to another folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cam_gitops.findings import Finding
from cam_gitops.live.beside import PolicyWork, TagWork, live_policy, policy_changes, tag_changes

UPDATE = "update"
NO_OP = "no-op"
ERROR = "error"
CANNOT_UNSET = "cannot-unset"
REFUSED = "refused"
UNMANAGED = "unmanaged"
IGNORED = "ignored"

FAILING_ACTIONS = frozenset({ERROR, CANNOT_UNSET, REFUSED})


@dataclass(frozen=True)
class FieldChange:
    """One field whose live value differs from the file's."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RuleMove:
    """A rule value in force for a file that changed because the file moved."""

    rule: str
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
    live_only: tuple[tuple[str, Any], ...] = ()  # (field, live value) the file does not set
    violations: tuple[Finding, ...] = ()  # the policy on the model as it will be
    waived: tuple[Finding, ...] = ()
    retarget_from: str | None = None  # the ARN this file managed at the base revision
    moved_from: str | None = None  # the path of this model's file at the base revision
    policy_moves: tuple[RuleMove, ...] = ()
    update_request: bool = False  # whether UpdateConfiguredAudienceModel is due (diff has beside fields too)
    tag_work: TagWork | None = None
    policy_work: PolicyWork | None = None

    @property
    def failed(self) -> bool:
        """Whether this change is an error that must fail the run."""
        return self.action in FAILING_ACTIONS

    @property
    def unmanaged_fields(self) -> tuple[str, ...]:
        """Fields the file leaves to their live value."""
        return tuple(field for field, _ in self.live_only)


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
        if not _same(lookup(live, path), wanted)
    )


def _same(live: Any, wanted: Any) -> bool:
    # JSON equality: true is not 1 (Python's == says it is), 1 and 1.0 are equal.
    if isinstance(live, bool) or isinstance(wanted, bool):
        return isinstance(live, bool) and isinstance(wanted, bool) and live == wanted
    if isinstance(live, list) and isinstance(wanted, list):
        return len(live) == len(wanted) and all(_same(a, b) for a, b in zip(live, wanted, strict=True))
    return bool(type(live) is type(wanted) and live == wanted) or (
        isinstance(live, (int, float)) and isinstance(wanted, (int, float)) and live == wanted
    )


def plan_model(
    path: str,
    arn: str,
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    removed_fields: Iterable[str] = (),
    *,
    violations: Iterable[Finding] = (),
    waived: Iterable[Finding] = (),
    retarget_from: str | None = None,
    moved_from: str | None = None,
    policy_moves: Iterable[RuleMove] = (),
    beside: Mapping[str, Any] | None = None,
    tag_work: TagWork | None = None,
    policy_work: PolicyWork | None = None,
) -> Change:
    """The change one file asks of one live model; violations are the policy's findings on
    the model as it will be (cam_gitops.check.engine.effective_findings). beside holds the
    fields the file sets beside the update request (tags, resourcePolicy); tag_work and
    policy_work what they ask (cam_gitops.live.beside)."""
    from cam_gitops.model import BESIDE_FIELDS, UPDATABLE_FIELDS

    beside = beside or {}
    unset = tuple(sorted(f for f in removed_fields if live.get(f) not in (None, "", [], {})))
    live_only = tuple((f, live[f]) for f in UPDATABLE_FIELDS if f not in desired and live.get(f) is not None)
    live_only += tuple((f, live[f]) for f in BESIDE_FIELDS if f not in beside and live.get(f) is not None)
    request = diff_fields(desired, live)
    other = tag_changes(tag_work, live)
    if policy_work is not None:
        other += policy_changes(live_policy(live), policy_work.put)
    diff = request + tuple(FieldChange(*change) for change in other)
    violations = tuple(violations)
    extra: dict[str, Any] = {
        "live_only": live_only,
        "violations": violations,
        "waived": tuple(waived),
        "retarget_from": retarget_from,
        "moved_from": moved_from,
        "policy_moves": tuple(policy_moves),
        "update_request": bool(request),
        "tag_work": tag_work if tag_work is not None and (tag_work.needed or tag_work.left_to_others) else None,
        "policy_work": policy_work,
    }
    if unset:
        listed = ", ".join(unset)
        message = (
            f"{listed} removed from the file, but UpdateConfiguredAudienceModel is a PATCH and cannot "
            "unset a field: the live value would stay. Put the field back with the value you want."
        )
        return Change(path, arn, CANNOT_UNSET, diff, message, **extra)
    if violations:
        message = (
            f"the model after the update would break the policy through {len(violations)} live "
            f"value{'s' if len(violations) != 1 else ''} the file does not set; "
            "apply refuses it until the file sets them"
        )
        return Change(path, arn, REFUSED, diff, message, **extra)
    return Change(path, arn, UPDATE if diff else NO_OP, diff, None, **extra)


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
    refused: int = 0
    retarget: int = 0
    ignored: int = 0

    @property
    def changes_pending(self) -> bool:
        """Whether anything would change, or needs a decision (a retarget, an unmanaged model)."""
        return self.update > 0 or self.unmanaged > 0 or self.retarget > 0


def summarize(changes: Iterable[Change]) -> PlanSummary:
    """Count changes by action."""
    changes = list(changes)
    return PlanSummary(
        update=sum(c.action == UPDATE for c in changes),
        no_op=sum(c.action == NO_OP for c in changes),
        errors=sum(c.action in (ERROR, CANNOT_UNSET) for c in changes),
        unmanaged=sum(c.action == UNMANAGED for c in changes),
        refused=sum(c.action == REFUSED for c in changes),
        retarget=sum(c.retarget_from is not None for c in changes),
        ignored=sum(c.action == IGNORED for c in changes),
    )
