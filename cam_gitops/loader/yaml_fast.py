"""The YAML fast path: the common subset of model and policy files, read line by line."""

from __future__ import annotations

import re
from typing import Any

from cam_gitops.findings import Position
from cam_gitops.loader.document import MAX_DEPTH, MAX_KEY_CHARS, Builder, DocPath, Refused, resolve_plain

# # Most model and policy files are a few block mappings, block sequences, one-line flow
# sequences and one-line scalars. This reads exactly that subset, line by line, and builds the
# same data, positions and quoted set as the event parser above; anything else (anchors,
# tags, multi-line or escaped scalars, flow mappings, duplicate keys, tabs, non-ASCII, empty
# values, ...) returns UNSUPPORTED and the file goes through the event parser, which also
# explains every error. It keeps PyYAML itself off the start-up path of a clean check.
# Whatever breaks a limit (depth, key length) or a value check (non-finite or too long
# numbers) is UNSUPPORTED here too: the event parser alone refuses, so both paths agree.

UNSUPPORTED: Any = object()
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


def fast_yaml(text: str, builder: Builder) -> Any:
    """The document of a YAML text in the common subset, or UNSUPPORTED."""
    if _FAST_TEXT.match(text) is None:
        return UNSUPPORTED  # tabs, carriage returns, control characters, non-ASCII
    try:
        lines = _fast_lines(text)
        if not lines or lines[0].indent != 0 or lines[0].key is None or lines[0].dash:
            return UNSUPPORTED
        reader = _FastReader(lines, builder)
        data = reader.mapping(0, ())
        if reader.index != len(lines):
            return UNSUPPORTED
        return data
    except (_Unsupported, Refused):
        return UNSUPPORTED


class _FastReader:
    def __init__(self, lines: list[_FastLine], builder: Builder) -> None:
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
            if key in result or len(path) >= MAX_DEPTH or len(key) > MAX_KEY_CHARS:
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
        if first == "{":
            if rest.startswith("{}") and _fast_tail(rest[2:]):
                return {}  # `rules: {}`, the policy that says it enforces no rules
            raise _Unsupported
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
        return resolve_plain(plain, path, self.builder)

    def flow_sequence(self, rest: str, number: int, column: int, path: DocPath) -> list[Any]:
        close = rest.find("]")
        if close < 0 or not _fast_tail(rest[close + 1 :]):
            raise _Unsupported
        inner = rest[1:close]
        items: list[Any] = []
        if not inner.strip(" "):
            return items
        if len(path) >= MAX_DEPTH:
            raise _Unsupported  # items would be deeper than the limit
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
                items.append(resolve_plain(stripped, item_path, self.builder))
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
