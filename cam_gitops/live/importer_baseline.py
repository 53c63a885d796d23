"""import --baseline: waivers for imported models that break the policy, added to policy.yaml.

The policy file is owned by people: its comments, order and layout are kept. The waivers are
inserted as text, and the result is accepted only when the project's policy loader reads it
as the same policy plus exactly the new waivers; otherwise nothing is changed and the caller
prints the waivers to paste.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cam_gitops.check.policy import Policy, load_policy
from cam_gitops.loader import load_bytes
from cam_gitops.workspace.files import write_file
from cam_gitops.workspace.layout import ModelFile


@dataclass(frozen=True)
class NewWaiver:
    """A baseline waiver for one file and one rule."""

    path: str
    rule: str
    reason: str
    expires: dt.date

    def as_data(self) -> dict[str, str]:
        """The waiver as policy.yaml holds it."""
        return {"path": self.path, "rule": self.rule, "reason": self.reason, "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class Violations:
    """Policy findings of some model files after the waivers already in force: (path, rule) pairs."""

    pairs: tuple[tuple[str, str], ...]

    @property
    def paths(self) -> list[str]:
        """The files with at least one finding, sorted."""
        return sorted({path for path, _ in self.pairs})


def policy_violations(files: Sequence[ModelFile], policy: Policy, today: dt.date) -> Violations:
    """The waivable policy findings of files that the policy's waivers do not already cover."""
    from cam_gitops.check.checker import run_check
    from cam_gitops.check.rules import CHECKS

    result = run_check(files, policy, today=today, complete=False)
    pairs = sorted({(f.path, f.rule) for f in result.findings if f.rule in CHECKS})
    return Violations(tuple(pairs))


def baseline_waivers(violations: Violations, today: dt.date, days: int) -> list[NewWaiver]:
    """One waiver per (file, rule), expiring days from today."""
    expires = today + dt.timedelta(days=days)
    reason = f"baseline: imported {today.isoformat()}, fix by {expires.isoformat()}"
    return [NewWaiver(path, rule, reason, expires) for path, rule in violations.pairs]


def waivers_snippet(waivers: Sequence[NewWaiver]) -> str:
    """The waivers as a `waivers:` block to paste into policy.yaml."""
    return "waivers:\n" + _items(waivers, 2, "\n")


class BaselineRefused(Exception):
    """policy.yaml could not be edited safely; the message says why."""


def add_waivers(policy_path: Path, display: str, waivers: Sequence[NewWaiver]) -> None:
    """Insert waivers into the policy file, keeping everything else as it is; BaselineRefused
    (with the file untouched) when that cannot be done and proven safe."""
    try:
        raw = policy_path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineRefused(f"cannot read {display}: {exc}") from None
    if policy_path.suffix.lower() == ".json":
        raise BaselineRefused(f"{display} is JSON; only a YAML policy file is edited")
    before = _load(raw, display)
    policy = load_policy(policy_path, display).policy
    if before is None or policy is None:
        raise BaselineRefused(f"{display} is not a valid policy now; `cam-gitops check` explains why")
    edited = _edited(text, before, waivers)
    _prove(policy_path, display, policy, edited, waivers)
    write_file(policy_path, edited)


def _load(raw: bytes, display: str) -> Any:
    loaded = load_bytes(raw, display, ".yaml")
    if loaded.document is None or any(f.severity.value == "error" for f in loaded.findings):
        return None
    return loaded.document


def _items(waivers: Sequence[NewWaiver], indent: int, newline: str) -> str:
    from cam_gitops.live.importer_files import dump_yaml

    block = dump_yaml([w.as_data() for w in waivers])
    return "".join(" " * indent + line + newline for line in block.splitlines())


def _edited(text: str, document: Any, waivers: Sequence[NewWaiver]) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    data = document.data
    if "waivers" not in data:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        return "".join(lines) + "waivers:" + newline + _items(waivers, 2, newline)
    key = document.key_positions[("waivers",)]
    if key.column != 1:
        raise BaselineRefused("the waivers key is not at the start of its line")
    key_index = key.line - 1
    current = data["waivers"]
    if not current:  # `waivers: []` becomes a block list
        head, comment = _split_comment(lines[key_index])
        value = head.rstrip()[len("waivers:") :].strip() if head.startswith("waivers:") else None
        if value != "[]":
            raise BaselineRefused("the empty waivers list is not written as `waivers: []`")
        lines[key_index] = "waivers:" + (f"  {comment}" if comment else "") + newline
        return "".join(lines[: key_index + 1]) + _items(waivers, 2, newline) + "".join(lines[key_index + 1 :])
    start = document.value_positions[("waivers",)]
    if start.line == key.line:
        raise BaselineRefused("the waivers list is written in flow style ([...]); only a block list is edited")
    dash = start.column - 1
    end = _block_end(lines, key_index + 1, dash)
    return "".join(lines[:end]) + _items(waivers, dash, newline) + "".join(lines[end:])


def _split_comment(line: str) -> tuple[str, str]:
    """(the line before a ` #` comment, the comment), for a line holding only simple tokens."""
    body = line.rstrip("\r\n")
    at = body.find(" #")
    return (body, "") if at < 0 else (body[:at], body[at + 1 :].strip())


def _block_end(lines: list[str], first: int, dash: int) -> int:
    """Index after the last content line of a block list whose dashes stand at column dash."""
    last_content = first
    for index in range(first, len(lines)):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(lines[index]) - len(lines[index].lstrip(" "))
        if indent < dash or (indent == dash and not stripped.startswith("-")):
            break
        last_content = index + 1
    return last_content


def _prove(policy_path: Path, display: str, before: Policy, edited: str, waivers: Sequence[NewWaiver]) -> None:
    """Read the edited text with the policy loader: the same policy plus exactly the new waivers."""
    handle, temporary = tempfile.mkstemp(prefix=".policy-baseline-", suffix=".yaml", dir=policy_path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(edited)
        after = load_policy(Path(temporary), display)
        after_data = _load(Path(temporary).read_bytes(), display)
    finally:
        Path(temporary).unlink(missing_ok=True)
    old_data = _load(policy_path.read_bytes(), display)
    if after.policy is None or after_data is None or old_data is None:
        raise BaselineRefused(f"{display} would not be a valid policy after the edit")
    expected = dict(old_data.data)
    expected["waivers"] = [*(old_data.data.get("waivers") or []), *(w.as_data() for w in waivers)]
    if after_data.data != expected or _rules(after.policy) != _rules(before):
        raise BaselineRefused(f"{display} would not read back as the same policy plus the new waivers")
    old = [(w.path, w.rule, w.reason, w.expires) for w in before.waivers]
    new = [(w.path, w.rule, w.reason, w.expires) for w in waivers]
    if [(w.path, w.rule, w.reason, w.expires) for w in after.policy.waivers] != old + new:
        raise BaselineRefused(f"{display} would not read back with exactly the new waivers")


def _rules(policy: Policy) -> tuple[Any, ...]:
    return (dict(policy.rules), policy.overrides)
