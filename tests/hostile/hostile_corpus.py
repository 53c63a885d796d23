"""The hostile-input corpus: committed files under corpus/, plus files generated here because
they are too large or too regular to keep in the repository. See corpus/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factories import ARN, VALID_MODEL

from cam_gitops.loader import MAX_FILE_BYTES

CORPUS = Path(__file__).resolve().parent / "corpus"
KIB = 1024


def _comment_header(size: int) -> bytes:
    return b"#" + b"x" * (size - 2) + b"\n"


GENERATED: dict[str, bytes] = {
    "models/limits/larger-than-1mib.yaml": VALID_MODEL.replace(ARN, ARN.replace("0001", "0901")).encode()
    + _comment_header(MAX_FILE_BYTES),
    "policies/comment-header-64k.yaml": _comment_header(64 * KIB + 1) + b"rules:\n  min-matching-seed-size: 1000\n",
    "policies/comment-lines-70k.yaml": b"# reviewed\n" * (70 * KIB // 11) + b"rules:\n  min-matching-seed-size: 1000\n",
    "policies/larger-than-1mib.yaml": _comment_header(MAX_FILE_BYTES) + b"rules:\n  min-matching-seed-size: 1000\n",
}


def corpus_files(kind: str) -> dict[str, bytes]:
    """Every hostile file of a kind ("models" or "policies"), keyed by its path under corpus/."""
    files = {
        path.relative_to(CORPUS).as_posix(): path.read_bytes()
        for path in sorted((CORPUS / kind).rglob("*"))
        if path.is_file()
    }
    files.update({name: content for name, content in GENERATED.items() if name.startswith(f"{kind}/")})
    return dict(sorted(files.items()))


def expected() -> dict[str, Any]:
    """What each corpus file must produce (corpus/expected.json)."""
    data: dict[str, Any] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    return data
