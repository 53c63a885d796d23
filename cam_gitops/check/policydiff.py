"""What a change to policy.yaml does, for review: each rule loosened or tightened, waivers and
ignore-unmanaged entries added or removed, overrides added, changed or removed.

Pure: two policies in, a PolicyDiff out. Loosening is what privacy reviewers must not miss, so
a change this module cannot classify (a glob replaced by another) is reported as `changed`,
never as tighter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cam_gitops.check.policy import Policy

LOOSER = "looser"
TIGHTER = "tighter"
CHANGED = "changed"

# For numeric limits: +1 when a higher value admits more models, -1 when a lower one does.
_LIMIT_SENSE = {
    "min-matching-seed-size": -1,
    "max-bins": +1,
    "min-bin": -1,
    "max-bin": +1,
    "min-percentage": -1,
    "max-percentage": +1,
}
_LISTS = frozenset(
    {
        "allowed-s3-prefixes",
        "allowed-accounts",
        "allowed-regions",
        "allowed-role-arns",
        "allowed-shared-audience-metrics",
        "allowed-types",
    }
)


@dataclass(frozen=True)
class RuleDelta:
    """One rule whose value changed, where (top level or an override) and in which direction."""

    scope: str  # "rules" or "override models/sandbox/**"
    rule: str
    before: Any  # None: not set (not enforced)
    after: Any
    direction: str


@dataclass(frozen=True)
class EntryDelta:
    """A waiver or an ignore-unmanaged entry added or removed."""

    kind: str  # "waiver" or "ignore-unmanaged"
    change: str  # "added" or "removed"
    target: str  # the waiver's path glob, or the ARN glob
    rule: str | None
    reason: str
    expires: str | None

    @property
    def direction(self) -> str:
        """Adding an exception loosens the policy; removing one tightens it."""
        return LOOSER if self.change == "added" else TIGHTER


@dataclass(frozen=True)
class PolicyDiff:
    """Every difference between the base policy and this one."""

    rules: tuple[RuleDelta, ...] = ()
    entries: tuple[EntryDelta, ...] = ()
    overrides: tuple[tuple[str, str], ...] = ()  # (change, paths) for overrides added or removed
    path: str = "policy.yaml"  # the policy file, as findings name it

    @property
    def empty(self) -> bool:
        """Whether nothing a reviewer needs to see changed."""
        return not (self.rules or self.entries or self.overrides)

    @property
    def loosened(self) -> bool:
        """Whether anything may admit models the base policy refused."""
        return (
            any(d.direction in (LOOSER, CHANGED) for d in self.rules)
            or any(e.direction == LOOSER for e in self.entries)
            or any(change == "added" for change, _ in self.overrides)
        )


def diff_policies(before: Policy, after: Policy) -> PolicyDiff:
    """The differences a reviewer must see between the base revision's policy and this one."""
    rules = list(_rule_deltas("rules", before.rules, after.rules))
    old_overrides = {o.paths: o for o in before.overrides}
    new_overrides = {o.paths: o for o in after.overrides}
    overrides: list[tuple[str, str]] = []
    for paths, override in new_overrides.items():
        scope = f"override {', '.join(paths)}"
        if paths in old_overrides:
            rules += _rule_deltas(scope, old_overrides[paths].rules, override.rules)
        else:
            overrides.append(("added", ", ".join(paths)))
            # The override replaces the top-level value for its files: judge it against that.
            base = {rule: after.rules.get(rule) for rule in override.rules}
            rules += _rule_deltas(scope, base, override.rules)
    for paths, override in old_overrides.items():
        if paths not in new_overrides:
            overrides.append(("removed", ", ".join(paths)))
            base = {rule: after.rules.get(rule) for rule in override.rules}
            rules += _rule_deltas(f"override {', '.join(paths)}", override.rules, base)
    return PolicyDiff(tuple(rules), tuple(_entry_deltas(before, after)), tuple(sorted(overrides)), after.path)


def _rule_deltas(scope: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[RuleDelta]:
    deltas = []
    for rule in sorted(set(before) | set(after)):
        old, new = before.get(rule), after.get(rule)
        if old != new:
            deltas.append(RuleDelta(scope, rule, old, new, direction(rule, old, new)))
    return deltas


def direction(rule: str, before: Any, after: Any) -> str:
    """Whether a rule's new value admits more models (looser), fewer (tighter), or neither
    can be said (changed)."""
    if before is None:
        return TIGHTER
    if after is None:
        return LOOSER
    if rule in _LIMIT_SENSE:
        return _limit(_LIMIT_SENSE[rule], before, after)
    if rule in _LISTS:
        return _allowed_list(before, after)
    if rule == "audience-size":
        return _combined(
            [
                direction(key, before.get(key), after.get(key))
                for key in set(before) | set(after)
                if before.get(key) != after.get(key)
            ]
        )
    if isinstance(before, bool) and isinstance(after, bool):
        return LOOSER if before and not after else TIGHTER
    return CHANGED


def _limit(sense: int, before: Any, after: Any) -> str:
    if not isinstance(before, int) or not isinstance(after, int):
        return CHANGED
    return LOOSER if (after - before) * sense > 0 else TIGHTER


def _allowed_list(before: Any, after: Any) -> str:
    old, new = set(map(str, before)), set(map(str, after))
    if new < old:
        return TIGHTER
    if new > old:
        return LOOSER
    return CHANGED


def _combined(directions: list[str]) -> str:
    if directions and all(d == TIGHTER for d in directions):
        return TIGHTER
    if directions and all(d == LOOSER for d in directions):
        return LOOSER
    return CHANGED


def _entry_deltas(before: Policy, after: Policy) -> list[EntryDelta]:
    def waivers(policy: Policy) -> set[tuple[str, str | None, str, str | None]]:
        return {(w.path, w.rule, w.reason, w.expires.isoformat()) for w in policy.waivers}

    def ignored(policy: Policy) -> set[tuple[str, str | None, str, str | None]]:
        return {(i.arn, None, i.reason, i.expires.isoformat() if i.expires else None) for i in policy.ignore_unmanaged}

    deltas = []
    for kind, entries in (("waiver", waivers), ("ignore-unmanaged", ignored)):
        old, new = entries(before), entries(after)
        deltas += [EntryDelta(kind, "added", *entry) for entry in sorted(new - old, key=str)]
        deltas += [EntryDelta(kind, "removed", *entry) for entry in sorted(old - new, key=str)]
    return deltas
