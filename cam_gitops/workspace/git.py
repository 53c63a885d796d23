"""What git knows: model files changed since a revision, and files as they were at it.

Every path here is relative to the project root, which may be a subfolder of the git
repository (a monorepo): git runs in that folder with paths relative to it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cam_gitops.workspace.layout import MODELS_DIR, SCHEMAS_DIR, UsageError, is_model_path


@dataclass(frozen=True)
class ChangedFiles:
    """Project paths of changed model files, and whether policy or schemas changed."""

    commit: str
    present: tuple[str, ...]
    deleted: tuple[str, ...]
    policy_changed: bool


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise UsageError("--changed-since needs git, and git is not installed") from None
    if completed.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout


def head_commit(root: Path) -> str | None:
    """The commit checked out, or None outside a git repository or without git (never an error:
    for records such as the audit trail, not for choosing what to apply)."""
    try:
        return _git(root, "rev-parse", "--verify", "-q", "HEAD").strip() or None
    except (UsageError, OSError):
        return None


def verify_revision(root: Path, revision: str) -> str:
    """The commit a revision names; a usage error when it does not exist (e.g. a shallow clone)."""
    if revision.startswith("-"):
        raise UsageError(f"--changed-since {revision}: not a revision")
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}").strip()
    except UsageError:
        raise UsageError(
            f"--changed-since {revision}: no such commit here (a shallow clone? fetch with depth 0)"
        ) from None


def changed_since(root: Path, revision: str, policy_file: str = "policy.yaml") -> ChangedFiles:
    """Model files changed between a revision and the working tree, untracked ones included."""
    commit = verify_revision(root, revision)
    status = _git(root, "diff", "--name-status", "--no-renames", "--relative", "-z", commit, "--")
    entries = status.split("\0")
    present: set[str] = set()
    deleted: set[str] = set()
    policy_changed = False
    for kind, name in zip(entries[0::2], entries[1::2], strict=False):
        if name == policy_file or name.startswith(f"{SCHEMAS_DIR}/"):
            policy_changed = True
        if is_model_path(name):
            (deleted if kind == "D" else present).add(name)
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", MODELS_DIR)
    present.update(name for name in untracked.split("\0") if is_model_path(name))
    return ChangedFiles(commit, tuple(sorted(present)), tuple(sorted(deleted)), policy_changed)


def files_at(root: Path, commit: str, paths: Iterable[str]) -> dict[str, bytes]:
    """The content of project paths at a commit (one git process for all); absent ones are left out."""
    wanted = sorted(set(paths))
    if not wanted:
        return {}
    request = "".join(f"{commit}:./{path}\n" for path in wanted if "\n" not in path)
    try:
        completed = subprocess.run(
            ["git", "cat-file", "--batch"], cwd=root, input=request.encode("utf-8"), capture_output=True, check=False
        )
    except FileNotFoundError:
        raise UsageError("--changed-since needs git, and git is not installed") from None
    output = completed.stdout
    found: dict[str, bytes] = {}
    offset = 0
    for path in (p for p in wanted if "\n" not in p):
        end = output.find(b"\n", offset)
        if end < 0:
            break
        header = output[offset:end].split(b" ")
        offset = end + 1
        if len(header) != 3 or header[1] != b"blob":
            continue  # "<name> missing", or not a file
        size = int(header[2])
        found[path] = output[offset : offset + size]
        offset += size + 1
    return found


def file_at(root: Path, revision: str, path: str) -> bytes | None:
    """A file's content at a revision, or None where it did not exist."""
    return files_at(root, revision, [path]).get(path)
