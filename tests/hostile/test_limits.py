"""Every reader applies the same limits with the same message: key length, depth, file size.

The YAML fast path answers only when the event parser would read the same data; whatever
breaks a limit goes to the event parser, which refuses it. JSON refuses at the same bounds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cam_gitops.findings import Position
from cam_gitops.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_KEY_CHARS, POLICY_FILE, load_bytes, load_file
from cam_gitops.loader.document import Builder, Refused
from cam_gitops.loader.yaml_events import parse_yaml
from cam_gitops.loader.yaml_fast import UNSUPPORTED, fast_yaml

KEY_TOO_LONG = "characters is too long; keys are at most 256 characters"
DEEP = f"nesting deeper than {MAX_DEPTH} levels"


def outcome(content: str | bytes, suffix: str) -> tuple[Any, list[tuple[str, Position, str]]]:
    raw = content if isinstance(content, bytes) else content.encode()
    loaded = load_bytes(raw, f"m{suffix}", suffix)
    data = loaded.document.data if loaded.document is not None else None
    return data, [(f.rule, f.position, f.message) for f in loaded.findings]


def yaml_paths(text: str) -> tuple[Any, Any]:
    """(fast path result, event parser result or the Refused position and message)."""
    fast = fast_yaml(text, Builder())
    try:
        slow: Any = parse_yaml(text, Builder())
    except Refused as refused:
        slow = (refused.position, refused.message)
    return fast, slow


def nested_block(depth: int, leaf: str) -> str:
    """A block mapping whose leaf value sits at doc-path length `depth`, then `leaf` below it."""
    lines = [f"{'  ' * level}k{level}:" for level in range(depth - 1)]
    lines.append(f"{'  ' * (depth - 1)}k{depth - 1}: {leaf}")
    return "\n".join(lines) + "\n"


# --- key length ---------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [MAX_KEY_CHARS + 1, 1024, 1025, 1030, 5000])
@pytest.mark.parametrize("style", ["plain", "quoted", "nested", "json"])
def test_a_key_over_the_limit_is_refused_by_every_reader_at_the_key(length: int, style: str) -> None:
    key = "k" * length
    content, suffix, position = {
        "plain": (f"{key}: 1\n", ".yaml", Position(1, 1)),
        "quoted": (f'a: 1\n"{key}": 1\n', ".yaml", Position(2, 1)),
        "nested": (f"a:\n  {key}: 1\n", ".yaml", Position(2, 3)),
        "json": (json.dumps({"a": {key: 1}}), ".json", Position(1, 8)),
    }[style]
    data, findings = outcome(content, suffix)
    assert data is None
    assert len(findings) == 1
    rule, where, message = findings[0]
    assert (rule, where) == ("parse", position)
    assert KEY_TOO_LONG in message
    if suffix == ".yaml":
        assert fast_yaml(content, Builder()) is UNSUPPORTED


@pytest.mark.parametrize("style", ["plain", "json"])
def test_a_key_at_the_limit_is_read(style: str) -> None:
    key = "k" * MAX_KEY_CHARS
    content = f"{key}: 1\n" if style == "plain" else json.dumps({key: 1})
    data, findings = outcome(content, ".yaml" if style == "plain" else ".json")
    assert (data, findings) == ({key: 1}, [])


def test_fast_path_no_longer_accepts_what_libyaml_refuses() -> None:
    text = "k" * 1025 + ": 1\n"
    fast, slow = yaml_paths(text)
    assert fast is UNSUPPORTED
    assert slow[0] == Position(1, 1) and KEY_TOO_LONG in slow[1]


# --- depth --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leaf", "deepest"),
    [
        ("1", MAX_DEPTH),  # the scalar at depth MAX_DEPTH
        ("[1]", MAX_DEPTH + 1),  # an item one level deeper
        ("[]", MAX_DEPTH),  # an empty list adds no level
        ("[a, [b]]", MAX_DEPTH + 2),
    ],
)
def test_flow_sequences_count_towards_the_depth_in_both_yaml_paths(leaf: str, deepest: int) -> None:
    text = nested_block(MAX_DEPTH, leaf)
    fast, slow = yaml_paths(text)
    if deepest <= MAX_DEPTH:
        assert fast == slow and fast is not UNSUPPORTED
    else:
        assert fast is UNSUPPORTED
        assert DEEP in slow[1]
        assert slow[0].line == MAX_DEPTH


def test_the_same_depth_in_json_is_refused_at_the_same_level() -> None:
    inner: Any = [1]
    for level in reversed(range(MAX_DEPTH)):
        inner = {f"k{level}": inner}
    data, findings = outcome(json.dumps(inner), ".json")
    assert data is None and len(findings) == 1 and DEEP in findings[0][2]
    yaml_data, yaml_findings = outcome(nested_block(MAX_DEPTH, "[1]"), ".yaml")
    assert yaml_data is None and DEEP in yaml_findings[0][2]
    shallower, ok = outcome(json.dumps(inner["k0"]), ".json")
    assert ok == [] and shallower is not None


# --- file size ----------------------------------------------------------------------------------


def test_file_size_limit_holds_for_bytes_from_git_as_for_files(tmp_path: Path) -> None:
    big = b"a: 1\n" + b"# padding\n" * (MAX_FILE_BYTES // 10 + 1)
    data, findings = outcome(big, ".yaml")
    assert data is None
    assert findings[0][0:2] == ("parse", Position(1, 1)) and "larger than 1 MiB" in findings[0][2]
    path = tmp_path / "m.yaml"
    path.write_bytes(big)
    assert [(f.rule, f.message) for f in load_file(path, "m.yaml").findings] == [(findings[0][0], findings[0][2])]


def test_size_message_names_the_kind_of_file() -> None:
    big = b"rules: {}\n" + b" " * MAX_FILE_BYTES
    loaded = load_bytes(big, "policy.yaml", ".yaml", POLICY_FILE)
    assert loaded.findings[0].message == (
        "file is larger than 1 MiB; a policy file is a few kilobytes at most: is this the right file?"
    )


def test_a_file_at_the_size_limit_is_read_whole() -> None:
    body = b"a: 1\n"
    padding = b"#" * (MAX_FILE_BYTES - len(body) - len(b"\nb: 2\n"))
    data, findings = outcome(body + padding + b"\nb: 2\n", ".yaml")
    assert (data, findings) == ({"a": 1, "b": 2}, [])
