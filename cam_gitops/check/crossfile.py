"""Cross-file rules need the whole project even when a run checks a few files.

`duplicate-arn` compares the ARNs of the files a run checks with every other model file's. To
keep the one-file pre-commit hook instant in a large repository, other files are only read
as bytes and parsed when they could hold one of those ARNs: an ARN without spaces can only be
written literally, or with backslash escapes (JSON, YAML double quotes), so a file with
neither the ARN's resource part nor a backslash cannot hold it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from cam_gitops.loader import MAX_FILE_BYTES, load_bytes
from cam_gitops.workspace.layout import all_model_files


def other_owners(root: Path, arns: Iterable[str], checked: Iterable[str]) -> dict[str, list[str]]:
    """ARN -> project paths of the model files, other than the checked ones, that manage it."""
    wanted = {arn for arn in arns if arn}
    if not wanted:
        return {}
    skip = set(checked)
    literal = re.compile(b"|".join(re.escape(arn.rsplit(":", 1)[-1].encode("utf-8", "replace")) for arn in wanted))
    found: dict[str, list[str]] = {}
    for model_file in all_model_files(root):
        if model_file.display_path in skip:
            continue
        raw = _read(model_file.fs_path)
        if raw is None or (b"\\" not in raw and literal.search(raw) is None):
            continue
        document = load_bytes(raw, model_file.display_path, model_file.fs_path.suffix.lower()).document
        arn = document.data.get("configuredAudienceModelArn") if document else None
        if isinstance(arn, str) and arn in wanted:
            found.setdefault(arn, []).append(model_file.display_path)
    return found


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
