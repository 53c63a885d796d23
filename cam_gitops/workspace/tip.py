"""`apply --require-tip REF`: apply only the commit that is still the tip of the branch.

"Re-run jobs" on an old apply run checks out an old commit: applying it would write old content
back to AWS. The workflow fetches the branch first; this compares HEAD with the fetched ref,
without fetching (no network, no credentials), before anything else runs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cam_gitops.workspace.layout import UsageError, find_root


def _rev_parse(folder: Path, revision: str, kind: str = "commit") -> str | None:
    """The commit (or, for kind "tree", the object: a `rev:path` names a tree) a revision names."""
    name = revision if kind == "tree" else f"{revision}^{{commit}}"
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", name],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise UsageError("--require-tip needs git, and git is not installed") from None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def _same_project_files(folder: Path, head: str, tip: str) -> bool:
    """Whether the project folder (policy.yaml, models/) is the same tree at both commits: then
    applying HEAD is applying the tip (a newer push touched only other folders of a monorepo,
    which may start no run of its own)."""
    prefix = _git_output(find_root(folder), "rev-parse", "--show-prefix")
    if prefix is None:
        return False
    ours, theirs = _rev_parse(folder, f"{head}:{prefix}", "tree"), _rev_parse(folder, f"{tip}:{prefix}", "tree")
    return ours is not None and ours == theirs


def _git_output(folder: Path, *args: str) -> str | None:
    done = subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    return done.stdout.strip() if done.returncode == 0 else None


def stale_message(folder: Path, ref: str) -> str | None:
    """None when HEAD is the commit ref names (or has the same project files), else why this
    run must not apply.

    Raises UsageError (exit 4) when ref or HEAD names no commit: a typo or a clone without the ref
    must never be mistaken for "stale" nor let the run go ahead.
    """
    if not ref or ref.startswith("-") or any(c.isspace() or ord(c) < 32 for c in ref):
        raise UsageError(f"--require-tip {ref!r}: not a git revision; give e.g. origin/main")
    head = _rev_parse(folder, "HEAD")
    if head is None:
        raise UsageError("--require-tip: HEAD names no commit here; run it in a git checkout")
    tip = _rev_parse(folder, ref)
    if tip is None:
        raise UsageError(
            f"--require-tip {ref}: no such ref here; fetch it first (git fetch origin main), "
            "or check the name (e.g. origin/main)"
        )
    if head == tip or _same_project_files(folder, head, tip):
        return None
    return f"this run is for {head} but {ref} is at {tip}: a newer run applies {ref}; nothing was sent"
