"""What changed since a git revision: model files added, modified or deleted."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from cam_gitops.loader import MODEL_SUFFIXES
from cam_gitops.workspace.layout import MODELS_DIR, UsageError


@dataclass(frozen=True)
class ChangedFiles:
    """Repository-relative paths of changed model files, and whether policy or schemas changed."""

    present: tuple[str, ...]
    deleted: tuple[str, ...]
    policy_changed: bool


def _git(root: Path, *args: str) -> str:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise UsageError("--changed-since needs git, and git is not installed") from None
    if completed.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout


def verify_revision(root: Path, revision: str) -> str:
    """The commit a revision names; a usage error when it does not exist (e.g. a shallow clone)."""
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()
    except UsageError:
        raise UsageError(
            f"--changed-since {revision}: no such commit here (a shallow clone? fetch with depth 0)"
        ) from None


def changed_since(root: Path, revision: str, policy_file: str = "policy.yaml") -> ChangedFiles:
    """Model files changed between a revision and the working tree, untracked ones included."""
    commit = verify_revision(root, revision)
    status = _git(root, "diff", "--name-status", "--no-renames", "-z", commit, "--")
    entries = status.split("\0")
    present: set[str] = set()
    deleted: set[str] = set()
    policy_changed = False
    for kind, name in zip(entries[0::2], entries[1::2], strict=False):
        if name == policy_file or name.startswith("schemas/"):
            policy_changed = True
        if not _is_model(name):
            continue
        (deleted if kind == "D" else present).add(name)
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", MODELS_DIR)
    present.update(name for name in untracked.split("\0") if name and _is_model(name))
    return ChangedFiles(tuple(sorted(present)), tuple(sorted(deleted)), policy_changed)


def file_at(root: Path, revision: str, path: str) -> bytes | None:
    """A file's content at a revision, or None where it did not exist."""
    completed = subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=root, capture_output=True, check=False, stdin=subprocess.DEVNULL
    )
    return completed.stdout if completed.returncode == 0 else None


def _is_model(name: str) -> bool:
    return name.startswith(f"{MODELS_DIR}/") and name.lower().endswith(MODEL_SUFFIXES)
