"""Read model and policy files into plain data, keeping the source position of every value.

YAML is read at the event level (libyaml when available) so that tags, anchors, aliases,
duplicate keys and YAML 1.1 typing traps can be refused with a precise position, instead of
being silently resolved the way a YAML 1.1 loader would. JSON is read by a small parser of
our own for the same reason: the standard library drops positions and duplicate keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from json.decoder import JSONDecodeError
from json.decoder import scanstring as _scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from cam_gitops.findings import Finding, Position, error, warning

MAX_FILE_BYTES = 1024 * 1024
_READ_CHUNK = 16 * 1024
MAX_DEPTH = 32
MODEL_SUFFIXES = (".yaml", ".yml", ".json")

DocPath = tuple[str | int, ...]

_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?\Z|[-+]?[0-9]+[eE][-+]?[0-9]+\Z"
    r"|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z"
)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


@dataclass(frozen=True)
class SourceDocument:
    """A parsed file: its data plus where each key and value stands in the source."""

    path: str
    data: dict[str, Any]
    value_positions: Mapping[DocPath, Position]
    key_positions: Mapping[DocPath, Position]
    quoted: frozenset[DocPath]
    notes: tuple[Finding, ...] = ()

    def locate(self, doc_path: DocPath) -> Position:
        """Position of the value at doc_path, or of its nearest ancestor that exists."""
        for end in range(len(doc_path), -1, -1):
            position = self.value_positions.get(doc_path[:end])
            if position is not None:
                return position
        return Position(1, 1)

    def locate_key(self, doc_path: DocPath) -> Position:
        """Position of the key naming doc_path, falling back to its value's position."""
        return self.key_positions.get(doc_path) or self.locate(doc_path)


@dataclass(frozen=True)
class LoadResult:
    """Either a document or the findings that explain why there is none."""

    document: SourceDocument | None
    findings: tuple[Finding, ...]


class _Refused(Exception):
    """Raised inside the parsers to abandon a file at a position with a message."""

    def __init__(self, position: Position, message: str, rule: str = "parse") -> None:
        super().__init__(message)
        self.position = position
        self.message = message
        self.rule = rule


@dataclass
class _Builder:
    """Collects positions while a parser walks a file."""

    value_positions: dict[DocPath, Position] = field(default_factory=dict)
    key_positions: dict[DocPath, Position] = field(default_factory=dict)
    quoted: set[DocPath] = field(default_factory=set)
    duplicates: list[tuple[Position, str, Position]] = field(default_factory=list)


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
        position = _byte_position(raw, exc.start)
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
    builder = _Builder()
    try:
        if suffix == ".json":
            data = _JSONParser(text, builder).parse()
        else:
            data = _fast_yaml(text, builder)
            if data is _UNSUPPORTED:
                builder = _Builder()
                data = _parse_yaml(text, builder)
    except _Refused as refused:
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


def _byte_position(raw: bytes, offset: int) -> Position:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Position(raw.count(b"\n", 0, offset) + 1, column)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return f"a single value ({value!r})"


def _mark(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


# --- YAML -----------------------------------------------------------------------------------


def _yaml_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _events(text: str, loader_class: Any) -> Iterator[Any]:
    """The parser's events, without yaml.parse's per-event check_event() call."""
    import yaml

    loader = loader_class(text)
    try:
        get_event = loader.get_event
        while True:
            event = get_event()
            yield event
            if isinstance(event, yaml.StreamEndEvent):
                return
    finally:
        loader.dispose()


def _parse_yaml(text: str, builder: _Builder) -> Any:
    import yaml  # only for what the fast path below does not handle: keeps `check` start-up short

    loader_class = _yaml_loader()
    events = _events(text, loader_class)
    try:
        return _yaml_stream(events, builder)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = _mark(mark) if mark is not None else Position(1, 1)
        raise _Refused(position, _yaml_problem(exc, text, position)) from None
    except yaml.reader.ReaderError as exc:
        if loader_class is yaml.SafeLoader:  # the pure-Python reader counts characters
            prefix = text[: exc.position]
            position = Position(prefix.count("\n") + 1, len(prefix) - (prefix.rfind("\n") + 1) + 1)
        else:  # libyaml reads the UTF-8 encoding and counts bytes
            position = _byte_position(text.encode("utf-8"), exc.position)
        raise _Refused(position, f"character #x{exc.character:04x} is not allowed in YAML; remove it") from None
    except yaml.YAMLError as exc:
        raise _Refused(Position(1, 1), f"invalid YAML: {exc}") from None


def _yaml_problem(exc: Any, text: str, position: Position) -> str:
    problem = exc.problem or exc.context or "syntax error"
    lines = text.splitlines()
    line = lines[position.line - 1] if 0 < position.line <= len(lines) else ""
    if "\t" in line[: position.column] or "'\\t'" in problem:
        return "tab character where YAML expects spaces; indent with spaces, never tabs"
    if "unacceptable character" in problem or "special characters are not allowed" in problem:
        return f"invalid YAML: {problem}; remove the control character"
    return f"invalid YAML: {problem}"


def _yaml_stream(events: Iterator[Any], builder: _Builder) -> Any:
    import yaml

    documents = 0
    data: Any = None
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Refused(
                    _mark(event.start_mark),
                    "file holds more than one YAML document (---); keep one model per file",
                )
        elif isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.AliasEvent)):
            data = _yaml_node(event, events, (), builder)
    return data


def _yaml_node(event: Any, events: Iterator[Any], path: DocPath, builder: _Builder) -> Any:
    import yaml

    position = _mark(event.start_mark)
    if isinstance(event, yaml.AliasEvent):
        raise _Refused(position, f"YAML alias *{event.anchor} is not allowed; write the value out in full")
    if event.anchor is not None:
        raise _Refused(position, f"YAML anchor &{event.anchor} is not allowed; write values out in full")
    if event.tag is not None and event.tag != "!":
        tag = str(event.tag).replace("tag:yaml.org,2002:", "!!")
        raise _Refused(position, f"YAML tag {tag} is not allowed; quote the value if it must be a string")
    if len(path) > MAX_DEPTH:
        raise _Refused(position, f"nesting deeper than {MAX_DEPTH} levels; a model file is shallow")
    builder.value_positions[path] = position
    if isinstance(event, yaml.ScalarEvent):
        if event.style:  # '' or None is a plain scalar; quotes and block styles are strings
            builder.quoted.add(path)
            return event.value
        return _resolve_plain(event.value)
    if isinstance(event, yaml.SequenceStartEvent):
        items: list[Any] = []
        for item_event in events:
            if isinstance(item_event, yaml.SequenceEndEvent):
                return items
            items.append(_yaml_node(item_event, events, (*path, len(items)), builder))
    mapping: dict[str, Any] = {}
    for key_event in events:
        if isinstance(key_event, yaml.MappingEndEvent):
            return mapping
        key = _yaml_key(key_event)
        key_position = _mark(key_event.start_mark)
        child = (*path, key)
        if key in mapping:
            builder.duplicates.append((key_position, key, builder.key_positions[child]))
            _yaml_node(next(events), events, (*path, f"\0dup{len(builder.duplicates)}"), builder)
            continue
        builder.key_positions[child] = key_position
        mapping[key] = _yaml_node(next(events), events, child, builder)
    return mapping


def _yaml_key(event: Any) -> str:
    import yaml

    if not isinstance(event, yaml.ScalarEvent):
        raise _Refused(_mark(event.start_mark), "a key must be a plain string, not a list, mapping or alias")
    if event.anchor is not None or (event.tag is not None and event.tag != "!"):
        raise _Refused(_mark(event.start_mark), "a key must be a plain string, without tag or anchor")
    return str(event.value)


def _resolve_plain(value: str) -> Any:
    """Type a plain YAML scalar the strict way: only plain decimal digits make an integer.

    YAML 1.1 loaders turn `yes` into True, `0x1F4` and `1_000` into integers and `2024-01-01`
    into a date; here those stay strings so the schema reports them where an integer is due.
    """
    if _PLAIN_INT.match(value):
        return int(value)
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _PLAIN_FLOAT.match(value):
        return float(value)
    return value


# --- YAML fast path -------------------------------------------------------------------------
#
# Most model and policy files are a few block mappings, block sequences, one-line flow
# sequences and one-line scalars. This reads exactly that subset, line by line, and builds the
# same data, positions and quoted set as the event parser above; anything else (anchors,
# tags, multi-line or escaped scalars, flow mappings, duplicate keys, tabs, non-ASCII, empty
# values, ...) returns _UNSUPPORTED and the file goes through the event parser, which also
# explains every error. It keeps PyYAML itself off the start-up path of a clean check.

_UNSUPPORTED: Any = object()
_FAST_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +|\Z)")
_FAST_PLAIN_START = re.compile(r"[A-Za-z0-9_./~(+=$]|-[0-9.]")
_FAST_FLOW_PLAIN = re.compile(r"[A-Za-z0-9_./~(+=$-][^,\[\]{}#:'\"]*\Z")
_FAST_TEXT = re.compile(r"[\n\x20-\x7e]*\Z")


class _Unsupported(Exception):
    """The fast path does not handle this text; the event parser will."""


class _FastLine:
    __slots__ = ("dash", "indent", "key", "number", "rest", "rest_column")

    def __init__(self, number: int, indent: int, dash: bool, key: str | None, rest: str, rest_column: int) -> None:
        self.number = number  # 1-based line
        self.indent = indent  # 0-based column of the first token (the dash or the key)
        self.dash = dash
        self.key = key
        self.rest = rest  # the value text after "key: " or "- ", comment not yet removed
        self.rest_column = rest_column  # 0-based column where rest starts


def _fast_lines(text: str) -> list[_FastLine]:
    lines: list[_FastLine] = []
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        indent = len(line) - len(stripped)
        if stripped[0] == "-":
            if stripped == "-" or stripped.rstrip(" ") == "-":
                lines.append(_FastLine(number, indent, True, None, "", indent + 1))
                continue
            if stripped[1] != " ":
                raise _Unsupported
            body = stripped[1:].lstrip(" ")
            column = len(line) - len(body)
            key = _FAST_KEY.match(body)
            if key is not None:  # "- key: value": a mapping in a sequence; the key line is indented
                lines.append(_FastLine(number, indent, True, None, "", indent + 1))
                lines.append(_FastLine(number, column, False, key.group(1), body[key.end() :], column + key.end()))
            else:
                lines.append(_FastLine(number, indent, True, None, body, column))
            continue
        key = _FAST_KEY.match(stripped)
        if key is None:
            raise _Unsupported
        lines.append(_FastLine(number, indent, False, key.group(1), stripped[key.end() :], indent + key.end()))
    return lines


def _fast_yaml(text: str, builder: _Builder) -> Any:
    """The document of a YAML text in the common subset, or _UNSUPPORTED."""
    if _FAST_TEXT.match(text) is None:
        return _UNSUPPORTED  # tabs, carriage returns, control characters, non-ASCII
    try:
        lines = _fast_lines(text)
        if not lines or lines[0].indent != 0 or lines[0].key is None or lines[0].dash:
            return _UNSUPPORTED
        reader = _FastReader(lines, builder)
        data = reader.mapping(0, ())
        if reader.index != len(lines):
            return _UNSUPPORTED
        return data
    except _Unsupported:
        return _UNSUPPORTED


class _FastReader:
    def __init__(self, lines: list[_FastLine], builder: _Builder) -> None:
        self.lines = lines
        self.index = 0
        self.builder = builder

    def mapping(self, indent: int, path: DocPath) -> dict[str, Any]:
        lines = self.lines
        first = lines[self.index]
        self.builder.value_positions[path] = Position(first.number, first.indent + 1)
        result: dict[str, Any] = {}
        while self.index < len(lines):
            line = lines[self.index]
            if line.indent < indent:
                break
            if line.indent > indent or line.key is None:
                if line.dash and line.indent == indent:
                    break  # a sequence item ends an indentless sequence's parent mapping entry
                raise _Unsupported
            key = line.key
            if key in result or len(path) >= MAX_DEPTH:
                raise _Unsupported  # duplicate keys and deep nesting are explained by the event parser
            child = (*path, key)
            self.builder.key_positions[child] = Position(line.number, line.indent + 1)
            self.index += 1
            result[key] = self.value(line, indent, child, allow_indentless=True)
        return result

    def sequence(self, indent: int, path: DocPath) -> list[Any]:
        lines = self.lines
        first = lines[self.index]
        self.builder.value_positions[path] = Position(first.number, first.indent + 1)
        items: list[Any] = []
        while self.index < len(lines):
            line = lines[self.index]
            if line.indent < indent or (line.indent == indent and not line.dash):
                break
            if line.indent > indent or len(path) >= MAX_DEPTH:
                raise _Unsupported
            self.index += 1
            items.append(self.value(line, indent, (*path, len(items)), allow_indentless=False))
        return items

    def value(self, line: _FastLine, indent: int, path: DocPath, allow_indentless: bool) -> Any:
        rest = line.rest
        if rest and rest[0] != "#":
            following = self.lines[self.index] if self.index < len(self.lines) else None
            if following is not None and following.indent > indent and following.number > line.number:
                raise _Unsupported  # a multi-line scalar, or a syntax error
            return self.scalar(rest, line.number, line.rest_column, path)
        following = self.lines[self.index] if self.index < len(self.lines) else None
        if following is None:
            raise _Unsupported  # an empty value
        if following.indent > indent or (following.number == line.number and following.indent > line.indent):
            if following.dash:
                return self.sequence(following.indent, path)
            return self.mapping(following.indent, path)
        if allow_indentless and following.indent == indent and following.dash:
            return self.sequence(indent, path)
        raise _Unsupported  # an empty value

    def scalar(self, rest: str, number: int, column: int, path: DocPath) -> Any:
        self.builder.value_positions[path] = Position(number, column + 1)
        first = rest[0]
        if first == "[":
            return self.flow_sequence(rest, number, column, path)
        if first in "'\"":
            value, end = _fast_quoted(rest, 0)
            if not _fast_tail(rest[end:]):
                raise _Unsupported
            self.builder.quoted.add(path)
            return value
        comment = rest.find(" #")
        plain = (rest if comment < 0 else rest[:comment]).rstrip(" ")
        if not _FAST_PLAIN_START.match(plain) or ": " in plain or plain.endswith(":") or "\t" in plain:
            raise _Unsupported
        return _resolve_plain(plain)

    def flow_sequence(self, rest: str, number: int, column: int, path: DocPath) -> list[Any]:
        close = rest.find("]")
        if close < 0 or not _fast_tail(rest[close + 1 :]):
            raise _Unsupported
        inner = rest[1:close]
        items: list[Any] = []
        if not inner.strip(" "):
            return items
        offset = 1
        for part in inner.split(","):
            stripped = part.strip(" ")
            start = offset + len(part) - len(part.lstrip(" "))
            offset += len(part) + 1
            if not stripped:
                raise _Unsupported  # [a,,b] or a trailing comma
            item_path = (*path, len(items))
            self.builder.value_positions[item_path] = Position(number, column + start + 1)
            if stripped[0] in "'\"":
                value, end = _fast_quoted(stripped, 0)
                if end != len(stripped):
                    raise _Unsupported
                self.builder.quoted.add(item_path)
                items.append(value)
            elif _FAST_FLOW_PLAIN.match(stripped) and (stripped[0] != "-" or stripped[1:2].isdigit()):
                items.append(_resolve_plain(stripped))
            else:
                raise _Unsupported
        return items


def _fast_quoted(text: str, start: int) -> tuple[str, int]:
    """A one-line quoted scalar without escapes: (value, index after the closing quote)."""
    quote = text[start]
    if quote == '"':
        end = text.find('"', start + 1)
        if end < 0 or "\\" in text[start:end]:
            raise _Unsupported
        return text[start + 1 : end], end + 1
    pieces: list[str] = []
    position = start + 1
    while True:
        end = text.find("'", position)
        if end < 0:
            raise _Unsupported
        pieces.append(text[position:end])
        if text.startswith("''", end):
            pieces.append("'")
            position = end + 2
            continue
        return "".join(pieces), end + 1


def _fast_tail(text: str) -> bool:
    """Whether what follows a value on its line is only spaces and a comment."""
    stripped = text.lstrip(" ")
    return not stripped or (stripped[0] == "#" and len(stripped) < len(text))


# --- JSON -----------------------------------------------------------------------------------

_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


class _JSONParser:
    """A strict RFC 8259 parser that records the position of every key and value."""

    def __init__(self, text: str, builder: _Builder) -> None:
        self.text = text
        self.builder = builder
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> Position:
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return Position(lo + 1, offset - self.line_starts[lo] + 1)

    def refuse(self, offset: int, message: str) -> _Refused:
        return _Refused(self.position(offset), f"invalid JSON: {message}")

    def skip(self, offset: int) -> int:
        match = _JSON_WS.match(self.text, offset)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def parse(self) -> Any:
        offset = self.skip(0)
        value, offset = self.value(offset, ())
        offset = self.skip(offset)
        if offset != len(self.text):
            raise self.refuse(offset, "extra data after the top-level value; keep one object per file")
        return value

    def value(self, offset: int, path: DocPath) -> tuple[Any, int]:
        if len(path) > MAX_DEPTH:
            raise self.refuse(offset, f"nesting deeper than {MAX_DEPTH} levels")
        if offset >= len(self.text):
            raise self.refuse(offset, "unexpected end of file; a value is missing")
        self.builder.value_positions[path] = self.position(offset)
        char = self.text[offset]
        if char == "{":
            return self.object(offset + 1, path)
        if char == "[":
            return self.array(offset + 1, path)
        if char == '"':
            self.builder.quoted.add(path)
            return self.string(offset)
        for literal, literal_value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(literal, offset):
                return literal_value, offset + len(literal)
        match = _JSON_NUMBER.match(self.text, offset)
        if match is None:
            raise self.refuse(offset, f"unexpected character {char!r}; expected a value")
        text = match.group(0)
        is_float = match.group(1) is not None or match.group(2) is not None
        return (float(text) if is_float else int(text)), match.end()

    def string(self, offset: int) -> tuple[str, int]:
        try:
            decoded: tuple[str, int] = _scanstring(self.text, offset + 1, True)
            return decoded
        except JSONDecodeError as exc:
            raise self.refuse(exc.pos, exc.msg.lower().removesuffix(" at")) from None

    def object(self, offset: int, path: DocPath) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        offset = self.skip(offset)
        if self.text.startswith("}", offset):
            return result, offset + 1
        while True:
            if not self.text.startswith('"', offset):
                raise self.refuse(offset, "expected a quoted key")
            key_position = self.position(offset)
            key, offset = self.string(offset)
            offset = self.skip(offset)
            if not self.text.startswith(":", offset):
                raise self.refuse(offset, "expected ':' after the key")
            offset = self.skip(offset + 1)
            child: DocPath = (*path, key)
            if key in result:
                self.builder.duplicates.append((key_position, key, self.builder.key_positions[child]))
                _, offset = self.value(offset, (*path, f"\0dup{len(self.builder.duplicates)}"))
            else:
                self.builder.key_positions[child] = key_position
                result[key], offset = self.value(offset, child)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset = self.skip(offset + 1)
                continue
            if self.text.startswith("}", offset):
                return result, offset + 1
            raise self.refuse(offset, "expected ',' or '}'")

    def array(self, offset: int, path: DocPath) -> tuple[list[Any], int]:
        items: list[Any] = []
        offset = self.skip(offset)
        if self.text.startswith("]", offset):
            return items, offset + 1
        while True:
            item, offset = self.value(offset, (*path, len(items)))
            items.append(item)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset = self.skip(offset + 1)
                continue
            if self.text.startswith("]", offset):
                return items, offset + 1
            raise self.refuse(offset, "expected ',' or ']'")
