"""Read model and policy files into plain data, keeping the source position of every value.

YAML is read at the event level (libyaml when available) so that tags, anchors, aliases,
duplicate keys and YAML 1.1 typing traps can be refused with a precise position, instead of
being silently resolved the way a YAML 1.1 loader would. JSON is read by a small parser of
our own for the same reason: the standard library drops positions and duplicate keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cam_gitops.findings import Finding, Position, error, warning
from cam_gitops.loader.document import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MODEL_SUFFIXES,
    Builder,
    DocPath,
    LoadResult,
    Refused,
    SourceDocument,
    byte_position,
)
from cam_gitops.loader.json_reader import JSONParser
from cam_gitops.loader.yaml_fast import UNSUPPORTED, fast_yaml

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MODEL_SUFFIXES",
    "DocPath",
    "LoadResult",
    "SourceDocument",
    "load_bytes",
    "load_file",
]

_READ_CHUNK = 16 * 1024


def load_file(fs_path: Path, display_path: str) -> LoadResult:
    """Read and parse one file; never raises for bad content, returns findings instead."""
    try:
        # Unbuffered, in small reads: read(MAX_FILE_BYTES + 1) would allocate 1 MiB per file.
        with open(fs_path, "rb", buffering=0) as handle:
            chunks: list[bytes] = []
            size = 0
            while size <= MAX_FILE_BYTES:
                chunk = handle.read(min(_READ_CHUNK, MAX_FILE_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return _fail(display_path, Position(1, 1), f"cannot read the file: {reason}")
    if len(raw) > MAX_FILE_BYTES:
        return _fail(
            display_path,
            Position(1, 1),
            "file is larger than 1 MiB; a model file is a few hundred bytes: is this the right file?",
        )
    return load_bytes(raw, display_path, fs_path.suffix.lower())


def load_bytes(raw: bytes, display_path: str, suffix: str) -> LoadResult:
    """Parse file content already read into memory (suffix picks JSON or YAML)."""
    notes: list[Finding] = []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _fail(display_path, Position(1, 1), "file is UTF-16; save it as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        notes.append(
            warning(
                display_path,
                Position(1, 1),
                "parse",
                "file starts with a UTF-8 byte-order mark; save it as UTF-8 without BOM",
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = byte_position(raw, exc.start)
        return _fail(
            display_path,
            position,
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            notes,
        )
    if not text.strip():
        return _fail(
            display_path, Position(1, 1), "file is empty; a model file needs at least configuredAudienceModelArn", notes
        )
    builder = Builder()
    try:
        if suffix == ".json":
            data = JSONParser(text, builder).parse()
        else:
            data = fast_yaml(text, builder)
            if data is UNSUPPORTED:
                builder = Builder()
                from cam_gitops.loader.yaml_events import parse_yaml  # PyYAML: off the fast path

                data = parse_yaml(text, builder)
    except Refused as refused:
        return LoadResult(None, (*notes, error(display_path, refused.position, refused.rule, refused.message)))
    findings = notes + [
        error(
            display_path,
            where,
            "duplicate-key",
            f"duplicate key '{key}' (first at line {first.line}); only one would be kept: remove one",
        )
        for where, key, first in builder.duplicates
    ]
    if not isinstance(data, dict):
        kind = _kind(data)
        position = builder.value_positions.get((), Position(1, 1))
        findings.append(
            error(
                display_path,
                position,
                "parse",
                f"top level is {kind}; a model file must be a mapping of request keys "
                "(configuredAudienceModelArn: ...)",
            )
        )
        return LoadResult(None, tuple(findings))
    document = SourceDocument(
        path=display_path,
        data=data,
        value_positions=builder.value_positions,
        key_positions=builder.key_positions,
        quoted=frozenset(builder.quoted),
        notes=tuple(notes),
    )
    return LoadResult(document, tuple(findings))


def _fail(path: str, position: Position, message: str, notes: list[Finding] | None = None) -> LoadResult:
    return LoadResult(None, (*(notes or []), error(path, position, "parse", message)))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return f"a single value ({value!r})"
