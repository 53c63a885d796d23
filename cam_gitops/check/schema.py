"""JSON Schema validation of model and policy files, with findings at file:line:col.

The valid case runs a compiled predicate (cam_gitops.check.compiled); jsonschema is imported only
for a document that fails it, to list every error with a message that says what is allowed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cam_gitops.check.compiled import Predicate, ascii_part_of_star_class, compile_schema
from cam_gitops.findings import Finding, Position, error, warning
from cam_gitops.loader import DocPath, SourceDocument

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator


class _SchemaError(NamedTuple):
    """The parts of a jsonschema error that a message needs, as plain values."""

    keyword: str
    expected: Any
    value: Any
    schema: Mapping[str, Any]
    path: DocPath
    conditional: bool
    message: str


def _view(err: ValidationError) -> _SchemaError:
    raw: Any = err  # jsonschema marks these attributes possibly unset; a reported error has them all
    return _SchemaError(
        keyword=str(raw.validator),
        expected=raw.validator_value,
        value=raw.instance,
        schema=raw.schema if isinstance(raw.schema, Mapping) else {},
        path=tuple(raw.absolute_path),
        conditional="then" in raw.absolute_schema_path,
        message=str(raw.message),
    )


MODEL_SCHEMA = "configured-audience-model.schema.json"
POLICY_SCHEMA = "policy.schema.json"

_TYPE_NAMES = {
    "integer": "an integer",
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
}


def schema_dir() -> Path:
    """Folder of the shipped schemas: in the wheel, or the repository's schemas/ folder."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_schemas"
    return packaged if packaged.is_dir() else package.parent / "schemas"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema file called name."""
    with (schema_dir() / name).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@functools.cache
def fast_validator(name: str) -> Predicate:
    """The compiled yes/no validator of a schema, built once per process."""
    return compile_schema(load_schema(name))


@functools.cache
def detailed_validator(name: str) -> Validator:
    """A jsonschema validator for a schema; integers are strict (500.0 is not one)."""
    from jsonschema import Draft202012Validator, validators

    type_checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", lambda _checker, value: type(value) is int)
    extend: Any = validators.extend  # untyped in jsonschema's stubs
    strict: Any = extend(Draft202012Validator, type_checker=type_checker)
    validator: Validator = strict(load_schema(name))
    return validator


def validate(document: SourceDocument, name: str) -> list[Finding]:
    """Findings (rule `schema`) for every way the document breaks the named schema.

    Plus a warning (rule `parse`) for each plain YAML value read as a string that YAML 1.2
    tools read as a number (+1000, 007, 0x1F), unless the schema already reports it.
    """
    if fast_validator(name)(document.data):
        return _numberlike(document, set())
    findings = [
        finding
        for err in detailed_validator(name).iter_errors(document.data)
        for finding in _explain(document, _view(err))
    ]
    if not findings:
        findings = [error(document.path, Position(1, 1), "schema", "does not match the schema")]
    return findings + _numberlike(document, {f.position for f in findings})


def _numberlike(document: SourceDocument, reported: set[Position]) -> list[Finding]:
    notes = []
    for path in sorted(document.numberlike, key=document.locate):
        position = document.locate(path)
        if position not in reported:
            text = json.dumps(_value_at(document.data, path))
            notes.append(
                warning(
                    document.path,
                    position,
                    "parse",
                    f"{_field(path)} is read as the string {text} (only plain decimal digits make a number), "
                    f"but YAML 1.2 tools read it as a number: quote it ({text}) to say it is a string",
                )
            )
    return notes


def _value_at(data: Any, path: DocPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _explain(document: SourceDocument, err: _SchemaError) -> Iterator[Finding]:
    path = err.path
    keyword = err.keyword
    if keyword == "additionalProperties":
        yield from _unknown_keys(document, path, err)
        return
    if keyword == "required":
        yield from _missing_keys(document, path, err)
        return
    if keyword in ("if", "then", "else", "allOf", "anyOf", "oneOf"):
        return  # their sub-errors are reported on their own
    yield error(document.path, document.locate(path), "schema", _message(document, path, err))


def _unknown_keys(document: SourceDocument, path: DocPath, err: _SchemaError) -> Iterator[Finding]:
    known = sorted(err.schema.get("properties", {}))
    for key in sorted(set(err.value) - set(known)):
        where = f" in {_field(path)}" if path else ""
        yield error(
            document.path,
            document.locate_key((*path, key)),
            "schema",
            f"unknown key '{key}'{where}; {_suggest(key, known)}",
        )


def _suggest(key: str, known: list[str]) -> str:
    for candidate in known:
        if candidate.lower() == key.lower():
            return f"did you mean '{candidate}'? (keys are case-sensitive)"
    import difflib  # only to explain an unknown key: keep it off the start-up path

    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "allowed keys: " + ", ".join(known)


def _missing_keys(document: SourceDocument, path: DocPath, err: _SchemaError) -> Iterator[Finding]:
    position = document.locate_key(path) if path else Position(1, 1)
    for key in err.expected:
        if key not in err.value:
            where = _field(path) if path else "the file"
            yield error(document.path, position, "schema", f"{where} is missing required key '{key}'")


def _message(document: SourceDocument, path: DocPath, err: _SchemaError) -> str:
    keyword, expected, value = err.keyword, err.expected, err.value
    field = _field(path)
    got = _describe(value, path in document.quoted)
    if keyword == "type":
        wanted = _TYPE_NAMES.get(str(expected), str(expected))
        return f"{field} must be {wanted}, got {got}{_type_hint(str(expected), value, path in document.quoted)}"
    if keyword == "enum":
        return f"{field} must be one of {', '.join(map(str, expected))}, got {got}{_case_hint(value, expected)}"
    if keyword == "const":
        return f"{field} must be {expected!r}, got {got}"
    if keyword in ("minimum", "maximum"):
        bound = "at least" if keyword == "minimum" else "at most"
        when = " when audienceSizeType is PERCENTAGE" if err.conditional else ""
        return f"{field} must be {bound} {expected}{when}, got {got}"
    if keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        return f"{field} must be {bound} {expected} characters long, got {len(value)}"
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return f"{field} must have {bound} {expected} item{'s' if expected != 1 else ''}, got {len(value)}"
    if keyword == "pattern":
        return (
            f"{field} must match the pattern {_inner(expected)} as a whole, got {got}{_pattern_hint(expected, value)}"
        )
    return f"{field}: {err.message}"


def _type_hint(expected: str, value: Any, quoted: bool) -> str:
    if expected == "integer":
        if isinstance(value, str) and quoted and value.strip().lstrip("-").isdigit():
            return "; remove the quotes"
        if isinstance(value, str) and not quoted:
            return "; only plain decimal digits make an integer (no +, 0x, _, leading zeros or words)"
        if isinstance(value, float) and value.is_integer():
            return f"; write {int(value)} without a decimal point"
    if expected == "string" and isinstance(value, (int, float, bool)):
        return "; quote it to make it a string"
    if value is None:
        return "; give a value or remove the key"
    return ""


_ANCHORED = re.compile(r"\^\(\?:(?P<inner>.*)\)\$\(\?!\\n\)\Z", re.DOTALL)


def _inner(pattern: str) -> str:
    """The pattern as botocore or the policy states it, without the whole-value anchoring."""
    match = _ANCHORED.match(pattern)
    return match.group("inner") if match is not None else pattern


def _pattern_hint(pattern: str, value: str) -> str:
    if ascii_part_of_star_class(pattern) is not None:
        for index, char in enumerate(value):
            if re.search(pattern, char) is None:
                return f"; character {index + 1} ({_codepoint(char)}) is not allowed here: remove it"
    if value.endswith("\n") and re.search(pattern, value[:-1]) is not None:
        return "; remove the line break at the end"
    if re.search(_inner(pattern), value) is not None:
        return "; only part of it matches: the whole value must"
    return ""


def _codepoint(char: str) -> str:
    shown = repr(char)[1:-1] if not char.isprintable() else char
    return f"{shown}, U+{ord(char):04X}"


def _case_hint(value: Any, options: Iterable[Any]) -> str:
    if isinstance(value, str):
        for option in options:
            if isinstance(option, str) and option.lower() == value.lower():
                return f" (values are case-sensitive: write {option})"
    return ""


def _describe(value: Any, quoted: bool) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the quoted string {json.dumps(shown)}" if quoted else json.dumps(shown)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def _field(path: DocPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the file"
