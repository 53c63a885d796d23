"""A compiled validator for the valid case: schema in, a fast yes/no predicate out.

Most commits check valid files. Importing jsonschema alone costs ~0.2 s, more than the whole
check of one file should take, so the common case runs this predicate built from the same
schema, and jsonschema is imported only to explain a file that fails it. Only the keywords
our schemas use are supported; compiling a schema with any other keyword raises, so a schema
change can never make the two paths disagree silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default"})
_SUPPORTED = _ANNOTATIONS | {
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "items",
    "minProperties",
    "maxProperties",
    "propertyNames",
    "if",
    "then",
    "else",
}

_TYPE_TESTS: dict[str, Predicate] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    # bool is an int subclass in Python, and a float like 500.0 is not an integer here.
    "integer": lambda v: type(v) is int,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


# Our schemas write every pattern as a whole-value match, ^(?:P)$(?!\n) (see the schemas'
# $comment). When P is one character class repeated, [C]*, the pattern accepts exactly the
# strings whose every character is in C; an ASCII string is then checked with str.strip
# against the ASCII part of C, and the regex itself (a large Unicode class costs ~10 ms to
# compile) is compiled only for a string that is not ASCII.
_STAR_CLASS = re.compile(r"\^\(\?:\[(?P<body>(?:[^\]\\]|\\.)+)\]\*\)\$\(\?!\\n\)\Z")
_CLASS_ITEM = re.compile(r"\\u(?P<hex>[0-9a-fA-F]{4})|\\(?P<escaped>[^a-zA-Z0-9])|\\(?P<named>[trn])|(?P<char>[^\\])")
_NAMED = {"t": "\t", "r": "\r", "n": "\n"}


def ascii_part_of_star_class(pattern: str) -> str | None:
    """The ASCII characters of C when pattern is ^(?:[C]*)$(?!\n), else None (not that form)."""
    match = _STAR_CLASS.match(pattern)
    if match is None or match.group("body").startswith("^"):
        return None
    body = match.group("body")
    tokens: list[tuple[str, bool]] = []  # (character, written as a bare '-')
    position = 0
    while position < len(body):
        item = _CLASS_ITEM.match(body, position)
        if item is None:
            return None  # \d, \w and the like: leave the class to the regex
        tokens.append((_class_char(item), item.group("char") == "-"))
        position = item.end()
    points: set[int] = set()
    index = 0
    while index < len(tokens):
        if index + 2 < len(tokens) and tokens[index + 1][1]:
            points.update(range(ord(tokens[index][0]), min(ord(tokens[index + 2][0]), 127) + 1))
            index += 3
        else:
            points.add(ord(tokens[index][0]))
            index += 1
    return "".join(chr(point) for point in sorted(points) if point < 128)


def _class_char(item: re.Match[str]) -> str:
    if item.group("hex"):
        return chr(int(item.group("hex"), 16))
    if item.group("named"):
        return _NAMED[item.group("named")]
    return item.group("escaped") or item.group("char")


def _type_test(expected: str | list[str]) -> Predicate:
    if isinstance(expected, str):
        return _TYPE_TESTS[expected]
    tests = tuple(_TYPE_TESTS[name] for name in expected)
    return lambda v: any(test(v) for test in tests)


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this compiler does not implement."""


def compile_schema(schema: Mapping[str, Any]) -> Predicate:
    """Compile a JSON Schema (the subset our schemas use) into a predicate."""
    return _Compiler(schema).compile(schema)


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Predicate] = {}

    def compile(self, schema: Mapping[str, Any]) -> Predicate:
        unknown = set(schema) - _SUPPORTED
        if unknown:
            raise UnsupportedSchema(f"unsupported schema keywords: {sorted(unknown)}")
        checks: list[Predicate] = []
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        if "type" in schema:
            checks.append(_type_test(schema["type"]))
        checks.extend(self.values(schema))
        checks.extend(self.strings(schema))
        checks.extend(self.arrays(schema))
        checks.extend(self.objects(schema))
        if "if" in schema:
            checks.append(self.conditional(schema))
        return _all_of(checks)

    def ref(self, pointer: str) -> Predicate:
        if not pointer.startswith("#/"):
            raise UnsupportedSchema(f"only local $ref is supported: {pointer}")
        if pointer not in self.refs:
            target: Any = self.root
            for part in pointer[2:].split("/"):
                target = target[part]
            self.refs[pointer] = lambda v: True  # placeholder for recursive references
            self.refs[pointer] = self.compile(target)
        return lambda v: self.refs[pointer](v)

    def values(self, schema: Mapping[str, Any]) -> list[Predicate]:
        checks: list[Predicate] = []
        if "enum" in schema:
            options = schema["enum"]
            checks.append(lambda v: any(_same(v, o) for o in options))
        if "const" in schema:
            constant = schema["const"]
            checks.append(lambda v: _same(v, constant))
        if "minimum" in schema:
            low = schema["minimum"]
            checks.append(lambda v: not _is_number(v) or v >= low)
        if "maximum" in schema:
            high = schema["maximum"]
            checks.append(lambda v: not _is_number(v) or v <= high)
        return checks

    def strings(self, schema: Mapping[str, Any]) -> list[Predicate]:
        checks: list[Predicate] = []
        if "minLength" in schema:
            low = schema["minLength"]
            checks.append(lambda v: not isinstance(v, str) or len(v) >= low)
        if "maxLength" in schema:
            high = schema["maxLength"]
            checks.append(lambda v: not isinstance(v, str) or len(v) <= high)
        if "pattern" in schema:
            checks.append(_pattern(schema["pattern"]))
        return checks

    def arrays(self, schema: Mapping[str, Any]) -> list[Predicate]:
        checks: list[Predicate] = []
        if "minItems" in schema:
            low = schema["minItems"]
            checks.append(lambda v: not isinstance(v, list) or len(v) >= low)
        if "maxItems" in schema:
            high = schema["maxItems"]
            checks.append(lambda v: not isinstance(v, list) or len(v) <= high)
        if "items" in schema:
            checks.append(_items(self.compile(schema["items"])))
        return checks

    def objects(self, schema: Mapping[str, Any]) -> list[Predicate]:
        checks: list[Predicate] = []
        properties = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        if properties:
            checks.append(_properties(tuple(properties.items())))
        if "required" in schema:
            required = tuple(schema["required"])
            checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in required))
        if "minProperties" in schema:
            fewest = schema["minProperties"]
            checks.append(lambda v: not isinstance(v, dict) or len(v) >= fewest)
        if "maxProperties" in schema:
            most = schema["maxProperties"]
            checks.append(lambda v: not isinstance(v, dict) or len(v) <= most)
        if "propertyNames" in schema:
            name = self.compile(schema["propertyNames"])
            checks.append(lambda v: not isinstance(v, dict) or all(name(k) for k in v))
        extra = schema.get("additionalProperties", True)
        if extra is False:
            known = frozenset(properties)
            checks.append(lambda v: not isinstance(v, dict) or known.issuperset(v))
        elif extra is not True:
            other = self.compile(extra)
            checks.append(
                lambda v: not isinstance(v, dict) or all(other(x) for k, x in v.items() if k not in properties)
            )
        return checks

    def conditional(self, schema: Mapping[str, Any]) -> Predicate:
        test = self.compile(schema["if"])
        then = self.compile(schema.get("then", {}))
        otherwise = self.compile(schema.get("else", {}))
        return lambda v: then(v) if test(v) else otherwise(v)


# Plain loops rather than all(<generator>): the predicate runs on every file, and a generator
# per call costs more than the checks themselves.


def _all_of(checks: list[Predicate]) -> Predicate:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def every(value: Any) -> bool:
        for check in frozen:  # noqa: SIM110 - a loop, not all(<generator>): see above
            if not check(value):
                return False
        return True

    return every


def _properties(properties: tuple[tuple[str, Predicate], ...]) -> Predicate:
    def each_property(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for key, check in properties:  # noqa: SIM110
            if key in value and not check(value[key]):
                return False
        return True

    return each_property


def _items(item: Predicate) -> Predicate:
    def each_item(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        for element in value:  # noqa: SIM110
            if not item(element):
                return False
        return True

    return each_item


def _pattern(pattern: str) -> Predicate:
    """What jsonschema checks, re.search(pattern, value), with the regex compiled on first use."""
    compiled: list[re.Pattern[str]] = []

    def search(value: str) -> bool:
        if not compiled:
            compiled.append(re.compile(pattern))
        return compiled[0].search(value) is not None

    allowed = ascii_part_of_star_class(pattern)
    if allowed is None:
        return lambda v: not isinstance(v, str) or search(v)
    return lambda v: not isinstance(v, str) or (not v.strip(allowed) if v.isascii() else search(v))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(value: Any, expected: Any) -> bool:
    # JSON Schema equality: true is not 1, and 1 equals 1.0.
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value == expected
    return bool(value == expected)
