"""Cross-file rules need the whole project even when a run checks a few files.

`duplicate-arn` compares the ARNs of the files a run checks with every other model file's. To
keep the one-file pre-commit hook instant in a large repository, other files are only read
as bytes and parsed when they could hold one of those ARNs: an ARN without spaces can only be
written literally, or with backslash escapes (JSON, YAML double quotes), so a file with
neither the ARN's resource part nor a backslash cannot hold it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cam_gitops.loader import MAX_FILE_BYTES, load_bytes
from cam_gitops.model import parse_arn
from cam_gitops.workspace.layout import MODELS_DIR, all_model_files, few_model_files, is_model_path

if TYPE_CHECKING:
    import subprocess

# Up to this many model files, Python reads them sooner than grep starts (the hook in a small
# repository spawns nothing).
FEW_FILES = 64
GREP_MAX_PATTERNS = 200  # beyond, a token scan in Python (its cost does not grow with the ARNs sought)


def other_owners(root: Path, arns: Iterable[str], checked: Iterable[str]) -> dict[str, list[str]]:
    """ARN -> project paths of the model files, other than the checked ones, that manage it."""
    wanted = {arn for arn in arns if parse_arn(arn, "cleanrooms-ml", "configured-audience-model")}
    if not wanted:
        return {}
    skip = set(checked)
    needles = sorted({arn.rsplit(":", 1)[-1] for arn in wanted})
    files = few_model_files(root, FEW_FILES)
    candidates = _grep(root, needles) if files is None and len(needles) <= GREP_MAX_PATTERNS else None
    if candidates is None:
        resources = frozenset(needle.encode("ascii") for needle in needles)
        candidates = [
            f.display_path
            for f in (all_model_files(root) if files is None else files)
            if f.display_path not in skip and _may_hold(f.fs_path, resources)
        ]
    found: dict[str, list[str]] = {}
    for path in candidates:
        if path in skip or not is_model_path(path):
            continue
        raw = _read(root / path)
        document = load_bytes(raw, path, Path(path).suffix.lower()).document if raw is not None else None
        arn = document.data.get("configuredAudienceModelArn") if document else None
        if isinstance(arn, str) and arn in wanted:
            found.setdefault(arn, []).append(path)
    return found


def _grep(root: Path, needles: list[str]) -> list[str] | None:
    """Model files holding a needle or a backslash, found by grep (C, a fraction of Python's
    time on 10,000 files); None when grep is missing or failed, and Python reads them."""
    if not (root / MODELS_DIR).is_dir():
        return []
    patterns = [arg for needle in needles for arg in ("-e", needle)]
    # grep -r skips symbolic links it meets, where the project's walk lists linked files:
    # with any link under models/, Python reads the files as the walk sees them.
    links = _run(["find", MODELS_DIR, "-type", "l", "-print", "-quit"], root)
    if links is None or links.stdout:
        return None
    found = _run(["grep", "-rlFZ", *patterns, "-e", "\\", "--", MODELS_DIR], root)
    if found is None or found.returncode not in (0, 1):
        return None
    return [name.decode("utf-8", "surrogateescape") for name in found.stdout.split(b"\0") if name]


def _run(command: list[str], root: Path) -> subprocess.CompletedProcess[bytes] | None:
    import subprocess  # only a large project greps

    try:
        return subprocess.run(
            command,
            cwd=root,
            capture_output=True,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        return None


# A literal ARN's resource part runs to the end of its scalar: the next byte (a quote, a space,
# a newline, `,` or `}`) is not one of the resource id's characters.
_RESOURCE = re.compile(rb"configured-audience-model/[-a-zA-Z0-9_/.]+")


def _may_hold(path: Path, resources: frozenset[bytes]) -> bool:
    """Whether a file may hold one of the resource parts: a set lookup per ARN-like token, so
    the cost does not grow with the number of ARNs sought."""
    raw = _read(path)
    return raw is not None and (b"\\" in raw or any(token in resources for token in _RESOURCE.findall(raw)))


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb", buffering=0) as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    return raw if len(raw) <= MAX_FILE_BYTES else None


def owners_text(others: Iterable[str], limit: int = 3) -> str:
    """Other files managing a model, as a message lists them: a few, then how many more."""
    listed = sorted(others)
    shown = ", ".join(listed[:limit])
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")
