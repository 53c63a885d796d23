"""What a file asks of a model beside the update request: its tags and its resource policy.

Pure: the file, the live state (the Get response's `tags`; `resourcePolicy` and `policyHash`
when the policy was read) and the policy's tag ownership in; the work to do out, and the
field changes a reviewer reads (a tag per line, a statement per line, never two JSON blobs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cam_gitops.model import ModelSpec

POLICY = "resourcePolicy"
POLICY_HASH = "policyHash"  # in the live state: the hash of the policy read, None without one


@dataclass(frozen=True)
class TagWork:
    """Tags to set (added or changed) and to remove; keys the file sets but does not own."""

    tag: Mapping[str, str] = field(default_factory=dict)
    untag: tuple[str, ...] = ()
    left_to_others: tuple[str, ...] = ()

    @property
    def needed(self) -> bool:
        """Whether a Tag or Untag call is due."""
        return bool(self.tag or self.untag)


@dataclass(frozen=True)
class PolicyWork:
    """The resource policy to put (or delete), over the live policy whose hash was read."""

    put: Mapping[str, Any] | None  # the document to put; None with delete
    delete: bool
    previous_hash: str | None  # None: the model had no policy when it was read


def tag_work(model: ModelSpec, live: Mapping[str, Any], owns: Callable[[str], bool]) -> TagWork | None:
    """The tag changes a file asks for (None when it does not manage tags): it owns every key
    but those left to others, so a key it does not set is removed."""
    desired = model.tags
    if desired is None:
        return None
    current = live.get("tags") if isinstance(live.get("tags"), Mapping) else {}
    assert isinstance(current, Mapping)
    tag = {k: v for k, v in sorted(desired.items()) if owns(k) and current.get(k) != v}
    untag = tuple(sorted(k for k in current if owns(k) and k not in desired))
    left = tuple(sorted(k for k in desired if not owns(k)))
    return TagWork(tag, untag, left)


def live_policy(live: Mapping[str, Any]) -> Any:
    """The live policy document as read (a mapping; a string when it was not JSON; None: none)."""
    return live.get(POLICY)


def policy_work(model: ModelSpec, live: Mapping[str, Any]) -> PolicyWork | None:
    """The policy change a file asks for; None when it does not manage the policy or the live
    policy already is the file's."""
    if not model.manages_policy:
        return None
    wanted = model.get(POLICY)
    current = live_policy(live)
    previous = live.get(POLICY_HASH)
    if wanted is None:
        return PolicyWork(None, True, previous) if current is not None else None
    if current == wanted:
        return None
    return PolicyWork(wanted, False, previous if current is not None else None)


def policy_text(document: Mapping[str, Any]) -> str:
    """The document as the API takes it: compact JSON, in the file's key order."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def parse_policy(text: str) -> Any:
    """A policy read from AWS: its JSON document, or the text itself when it is not one (the
    rules then refuse to judge it, and the plan shows it whole)."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past what the reader can hold
        return text
    return document if isinstance(document, dict) else text


def _statement_key(statement: Any, index: int) -> str:
    if isinstance(statement, Mapping) and isinstance(statement.get("Sid"), str):
        return f"Sid {statement['Sid']}"
    return f"#{index}"


def _statements(document: Any) -> dict[str, Any]:
    if not isinstance(document, Mapping):
        return {}
    listed = document.get("Statement")
    items = listed if isinstance(listed, list) else [listed] if listed is not None else []
    return {_statement_key(statement, index): statement for index, statement in enumerate(items)}


def policy_changes(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """(field, before, after) of a policy change, statement by statement (by Sid, else by
    position); the whole policy when one side is missing or is not a document."""
    if before is None or after is None or not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return [(POLICY, before, after)] if before != after else []
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(before) | set(after)):
        if key != "Statement" and before.get(key) != after.get(key):
            changes.append((f"{POLICY}.{key}", before.get(key), after.get(key)))
    old, new = _statements(before), _statements(after)
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key) != new.get(key):
            changes.append((f"{POLICY}.Statement[{key}]", old.get(key), new.get(key)))
    return changes


def tag_changes(work: TagWork | None, live: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, before, after) of each tag set or removed."""
    if work is None:
        return []
    current = live.get("tags") if isinstance(live.get("tags"), Mapping) else {}
    assert isinstance(current, Mapping)
    changes: list[tuple[str, Any, Any]] = [(f"tags.{key}", current.get(key), value) for key, value in work.tag.items()]
    changes += [(f"tags.{key}", current[key], None) for key in work.untag]
    return sorted(changes, key=lambda change: change[0])
