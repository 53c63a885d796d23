"""YAML read at the event level (libyaml when available): every construct the strict reading
refuses (tags, anchors, aliases, several documents) is refused with its position."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cam_gitops.findings import Position
from cam_gitops.loader.document import (
    DEEP,
    MAX_DEPTH,
    MAX_KEY_CHARS,
    Builder,
    DocPath,
    Refused,
    byte_position,
    check_key,
    check_text,
    mark_position,
    resolve_plain,
    too_long_key,
)

BAD_ESCAPE = (
    "string holds an escape of half of a UTF-16 surrogate pair (\\ud800-\\udfff) or of no character, "
    "which cannot be encoded as UTF-8; write the character itself (or \\U0001F600 for one beyond \\uffff)"
)


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
            try:
                event = get_event()
            except ValueError:  # the pure-Python scanner's chr() of an escape beyond U+10FFFF
                raise Refused(mark_position(loader.get_mark()), BAD_ESCAPE) from None
            yield event
            if isinstance(event, yaml.StreamEndEvent):
                return
    finally:
        loader.dispose()


def parse_yaml(text: str, builder: Builder) -> Any:
    import yaml  # only for what the fast path below does not handle: keeps `check` start-up short

    loader_class = _yaml_loader()
    events = _events(text, loader_class)
    try:
        return _yaml_stream(events, builder)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = mark_position(mark) if mark is not None else Position(1, 1)
        raise Refused(*_yaml_problem(exc, text, position)) from None
    except yaml.reader.ReaderError as exc:
        if loader_class is yaml.SafeLoader:  # the pure-Python reader counts characters
            prefix = text[: exc.position]
            position = Position(prefix.count("\n") + 1, len(prefix) - (prefix.rfind("\n") + 1) + 1)
        else:  # libyaml reads the UTF-8 encoding and counts bytes
            position = byte_position(text.encode("utf-8"), exc.position)
        raise Refused(position, f"character #x{exc.character:04x} is not allowed in YAML; remove it") from None
    except yaml.YAMLError as exc:
        raise Refused(Position(1, 1), f"invalid YAML: {exc}") from None


def _yaml_problem(exc: Any, text: str, position: Position) -> tuple[Position, str]:
    problem = exc.problem or exc.context or "syntax error"
    lines = text.splitlines()
    line = lines[position.line - 1] if 0 < position.line <= len(lines) else ""
    if "\t" in line[: position.column] or "'\\t'" in problem:
        return position, "tab character where YAML expects spaces; indent with spaces, never tabs"
    if "unacceptable character" in problem or "special characters are not allowed" in problem:
        return position, f"invalid YAML: {problem}; remove the control character"
    if "invalid Unicode character escape" in problem:
        start = exc.context_mark  # the quoted string's start: where the other readers point
        return mark_position(start) if start is not None else position, BAD_ESCAPE
    start = exc.context_mark
    if problem == "could not find expected ':'" and start is not None:
        length = (
            position.column - (start.column + 1) - (2 if line[start.column : start.column + 1] in ("'", '"') else 0)
        )
        if start.line + 1 == position.line and length > MAX_KEY_CHARS:
            return mark_position(start), too_long_key(length)
        return position, f"invalid YAML: {problem}; a key and its ':' must be on one line"
    if problem.startswith("mapping values are not allowed"):
        # libyaml gives up on an implicit key longer than 1024 characters with this message:
        # say what the other readers say about a long key, where they say it.
        before = line[: position.column - 1]
        key = before.lstrip(" -?").rstrip(" ")
        if len(key) > MAX_KEY_CHARS and ": " not in key:
            return Position(position.line, len(before) - len(before.lstrip(" -?")) + 1), too_long_key(len(key))
    return position, f"invalid YAML: {problem}"


def _yaml_stream(events: Iterator[Any], builder: Builder) -> Any:
    import yaml

    documents = 0
    data: Any = None
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise Refused(
                    mark_position(event.start_mark),
                    "file holds more than one YAML document (---); keep one model per file",
                )
        elif isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.AliasEvent)):
            data = _yaml_node(event, events, (), builder)
    return data


def _yaml_node(event: Any, events: Iterator[Any], path: DocPath, builder: Builder) -> Any:
    import yaml

    position = mark_position(event.start_mark)
    if isinstance(event, yaml.AliasEvent):
        raise Refused(position, f"YAML alias *{event.anchor} is not allowed; write the value out in full")
    if event.anchor is not None:
        raise Refused(position, f"YAML anchor &{event.anchor} is not allowed; write values out in full")
    if event.tag is not None and event.tag != "!":
        tag = str(event.tag).replace("tag:yaml.org,2002:", "!!")
        raise Refused(position, f"YAML tag {tag} is not allowed; quote the value if it must be a string")
    if len(path) > MAX_DEPTH:
        raise Refused(position, DEEP)
    builder.value_positions[path] = position
    if isinstance(event, yaml.ScalarEvent):
        if event.style:  # '' or None is a plain scalar; quotes and block styles are strings
            builder.quoted.add(path)
            check_text(event.value, position)
            return event.value
        return resolve_plain(event.value, path, builder)
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
        key_position = mark_position(key_event.start_mark)
        check_key(key, key_position)
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
        raise Refused(mark_position(event.start_mark), "a key must be a plain string, not a list, mapping or alias")
    if event.anchor is not None or (event.tag is not None and event.tag != "!"):
        raise Refused(mark_position(event.start_mark), "a key must be a plain string, without tag or anchor")
    return str(event.value)
