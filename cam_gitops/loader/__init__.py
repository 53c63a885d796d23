"""Read model and policy files into plain data, keeping the source position of every value.

YAML is read at the event level (libyaml when available) so that tags, anchors, aliases,
duplicate keys and YAML 1.1 typing traps can be refused with a precise position, instead of
being silently resolved the way a YAML 1.1 loader would. JSON is read by a small parser of
our own for the same reason: the standard library drops positions and duplicate keys.

Every value is checked as it is read: strings that cannot be encoded as UTF-8, non-finite
numbers and integers too long to read are refused with their position, and every reader
applies the same limits (file size, depth, key length), so a file is never half-read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cam_gitops.findings import Finding, Position, error, warning
from cam_gitops.loader.document import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_INT_DIGITS,
    MAX_KEY_CHARS,
    MODEL_FILE,
    MODEL_SUFFIXES,
    POLICY_FILE,
    Builder,
    DocPath,
    FileKind,
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
    "MAX_INT_DIGITS",
    "MAX_KEY_CHARS",
    "MODEL_FILE",
    "MODEL_SUFFIXES",
    "POLICY_FILE",
    "DocPath",
    "FileKind",
    "LoadResult",
    "SourceDocument",
    "load_bytes",
    "load_file",
]

_READ_CHUNK = 16 * 1024


def load_file(fs_path: Path, display_path: str, kind: FileKind = MODEL_FILE) -> LoadResult:
    """Read and parse one file; never raises for bad content, returns findings instead.

    At most MAX_FILE_BYTES + 1 bytes are read, and the whole of what is read is parsed:
    nothing is decided on a prefix of the file.
    """
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
    return load_bytes(raw, display_path, fs_path.suffix.lower(), kind)


def load_bytes(raw: bytes, display_path: str, suffix: str, kind: FileKind = MODEL_FILE) -> LoadResult:
    """Parse file content already read into memory (suffix picks JSON or YAML)."""
    if len(raw) > MAX_FILE_BYTES:
        return _fail(
            display_path,
            Position(1, 1),
            f"file is larger than 1 MiB; a {kind.noun} is a few kilobytes at most: is this the right file?",
        )
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
        return _fail(display_path, Position(1, 1), f"file is empty; {kind.needs}", notes)
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
    if data is None:  # comments only, or an empty document
        findings.append(
            error(display_path, Position(1, 1), "parse", f"file has no content, only comments; {kind.needs}")
        )
        return LoadResult(None, tuple(findings))
    if not isinstance(data, dict):
        position = builder.value_positions.get((), Position(1, 1))
        findings.append(error(display_path, position, "parse", f"top level is {_kind(data)}; {kind.top_level}"))
        return LoadResult(None, tuple(findings))
    document = SourceDocument(
        path=display_path,
        data=data,
        value_positions=builder.value_positions,
        key_positions=builder.key_positions,
        quoted=frozenset(builder.quoted),
        notes=tuple(notes),
        numberlike=frozenset(builder.numberlike),
    )
    return LoadResult(document, tuple(findings))


def _fail(path: str, position: Position, message: str, notes: list[Finding] | None = None) -> LoadResult:
    return LoadResult(None, (*(notes or []), error(path, position, "parse", message)))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return f"a single value ({value!r})"
