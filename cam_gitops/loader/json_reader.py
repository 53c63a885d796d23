"""A strict RFC 8259 JSON reader that keeps positions and reports duplicate keys."""

from __future__ import annotations

import re
from json.decoder import JSONDecodeError
from json.decoder import scanstring as _scanstring  # type: ignore[attr-defined]
from typing import Any

from cam_gitops.findings import Position
from cam_gitops.loader.document import (
    DEEP,
    MAX_DEPTH,
    NON_FINITE_RULE,
    Builder,
    DocPath,
    Refused,
    check_key,
    check_text,
    read_float,
    read_int,
)

_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# What Python's json module (and JavaScript) would read as a non-finite number.
_NON_FINITE = ("NaN", "Infinity", "-Infinity")


class JSONParser:
    """A strict RFC 8259 parser that records the position of every key and value."""

    def __init__(self, text: str, builder: Builder) -> None:
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

    def refuse(self, offset: int, message: str) -> Refused:
        return Refused(self.position(offset), f"invalid JSON: {message}")

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
            raise Refused(self.position(offset), DEEP)
        if offset >= len(self.text):
            raise self.refuse(offset, "unexpected end of file; a value is missing")
        position = self.position(offset)
        self.builder.value_positions[path] = position
        char = self.text[offset]
        if char == "{":
            return self.object(offset + 1, path)
        if char == "[":
            return self.array(offset + 1, path)
        if char == '"':
            self.builder.quoted.add(path)
            text, end = self.string(offset)
            check_text(text, position)
            return text, end
        for literal, literal_value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(literal, offset):
                return literal_value, offset + len(literal)
        match = _JSON_NUMBER.match(self.text, offset)
        if match is None:
            for name in _NON_FINITE:
                if self.text.startswith(name, offset):
                    raise self.refuse(offset, f"{name} is not a JSON number; {NON_FINITE_RULE}")
            raise self.refuse(offset, f"unexpected character {char!r}; expected a value")
        text = match.group(0)
        if match.group(1) is not None or match.group(2) is not None:
            return read_float(text, position), match.end()
        return read_int(text, position), match.end()

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
            check_key(key, key_position)
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
