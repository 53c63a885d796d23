"""The YAML fast path of the loader agrees with the event parser wherever it answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cam_gitops.loader.document import Builder, Refused
from cam_gitops.loader.yaml_events import parse_yaml
from cam_gitops.loader.yaml_fast import UNSUPPORTED, fast_yaml

ROOT = Path(__file__).resolve().parents[2]


def both(text: str) -> tuple[Any, Any]:
    """(fast result or None when unsupported, event-parser result or None when refused), with positions."""
    fast_builder = Builder()
    fast = fast_yaml(text, fast_builder)
    slow_builder = Builder()
    try:
        slow = parse_yaml(text, slow_builder)
    except Refused:
        slow_result = None
    else:
        slow_result = (
            _typed(slow),
            slow_builder.value_positions,
            slow_builder.key_positions,
            slow_builder.quoted,
            slow_builder.duplicates,
        )
    if fast is UNSUPPORTED:
        return None, slow_result
    fast_result = (_typed(fast), fast_builder.value_positions, fast_builder.key_positions, fast_builder.quoted, [])
    return fast_result, slow_result


def _typed(value: Any) -> Any:
    """value with every scalar's type made explicit (1 == 1.0 == True otherwise)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def agree(text: str) -> bool:
    """Assert agreement; True when the fast path answered."""
    fast, slow = both(text)
    if fast is not None:
        assert slow is not None, f"fast path accepted what the event parser refuses:\n{text}"
        assert fast == slow, text
    return fast is not None


SHIPPED = [
    *sorted(p for d in ("models", "demo", "examples") for p in (ROOT / d).rglob("*") if p.suffix in (".yaml", ".yml")),
    ROOT / "policy.yaml",
]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_files(path: Path) -> None:
    agree(path.read_text(encoding="utf-8"))


def test_shipped_models_and_policy_take_the_fast_path() -> None:
    for path in [ROOT / "policy.yaml", *sorted((ROOT / "models").rglob("*.yaml"))]:
        assert agree(path.read_text(encoding="utf-8")), path


TRICKY = [
    "a: 1\n",
    "a: 1\nb:\n  c: 2\n",
    "a:\n- 1\n- 2\nb: x\n",
    "a:\n  - 1\n  - [2, 3]\n",
    "a: [ ]\nb: []\n",
    "a: {}\n",
    "a: {}  # none\nb: 1\n",
    "a: {} x\n",
    "a: {}x\n",
    "a: { }\n",
    "a:\n  - {}\n",
    "rules: {}\n",
    "a: 'it''s'\n",
    'a: "x"  # c\n',
    "a: x # c\n",
    "a: x#c\n",
    "a: -5\nb: -0.5\nc: .5\nd: +5\ne: 1e3\nf: 0x1F\ng: 1_000\nh: 007\ni: yes\nj: ~\nk: null\nl: true\n",
    "a: s3://b/p/\n",
    "a: [s3://b/p/]\n",
    "a: x: y\n",
    "a: x:\n",
    "a:\n",
    "a:\nb: 1\n",
    "a: 1\na: 2\n",
    "- a\n- b\n",
    "a: 1\n- b\n",
    "a: &x 1\n",
    "a: *x\n",
    "a: !!str 1\n",
    "a: |\n  x\n",
    "a: >\n  x\n",
    "a: x\n  y\n",
    "a:\n  b: 1\n    c: 2\n",
    "a:\n  b: 1\n c: 2\n",
    "---\na: 1\n",
    "a: 1\n...\n",
    "a: 1\n---\nb: 2\n",
    "%YAML 1.2\n---\na: 1\n",
    "a: 'x\n  y'\n",
    'a: "x\\ny"\n',
    "a: [a, b,]\n",
    "a: [a, [b]]\n",
    "a: [a, {b: c}]\n",
    "a: {b: c}\n",
    'a: ["a,b"]\n',
    "a: ['x]']\n",
    "a: [x] y\n",
    "a:\n  -\n    b: 1\n  - c: 2\n    d: 3\n  - - e\n",
    "w:\n  - paths: [models/x/**]\n    rules:\n      r: 1\n",
    "w:\n- paths:\n  - x\n  rules: {}\n",
    "a:   # c\n  b: 1\n",
    "# c\na: 1 # c\n\n# d\nb: 'x' # e\n",
    "a: -\n",
    "a: - x\n",
    "a: ? x\n",
    "a: :x\n",
    "a: @x\n",
    "a: `x\n",
    "a: %x\n",
    "a: x\t\n",
    "a:\tx\n",
    "a: x\r\n",
    "a: caf\u00e9\n",
    "a: \x07\n",
    "a : 1\n",
    "'a': 1\n",
    '"a": 1\n',
    "a.b: 1\n",
    "? a\n: 1\n",
    "a: [1, 2]\n  b: 3\n",
    "a:\n  - 1\n - 2\n",
    "a: 'x' y\n",
    'a: "x" # c\n',
    "a: =\n",
    "<<: 1\n",
    "a: [-1, -x, -.5]\n",
    "a: [ x , y ]   \n",
    "a: [x]#c\n",
    "a: 'x'#c\n",
    "a:\n  - x\n  -\n",
    " a: 1\n",
    "a:\n    b: 1\n    c:\n    - 1\n    d: 2\n",
    "a: 1\n   \n\nb: 2",
    "a: x  \nb: y\t",
    "a:  'q'  \n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_snippets(text: str) -> None:
    agree(text)


_key = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True)
_scalar = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    st.sampled_from(["yes", "no", "0x1F", "1_000", "007", "2024-01-01", "s3://b/p/", "a: b", "a #b", "-", "~"]),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_key, inner, min_size=1, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(_key, _value, min_size=1, max_size=6),
    st.sampled_from([None, False, True]),
    st.integers(1, 4),
    st.booleans(),
)
def test_generated_documents(data: dict[str, Any], flow: bool | None, indent: int, comments: bool) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, indent=max(2, indent), sort_keys=False, width=10**6)
    if comments:
        text = "# header\n" + text.replace("\n", "  # note\n", 1)
    agree(text)
    agree(text.replace("\n- ", "\n  - ").replace(":\n  - ", ":\n    - "))


def test_an_explicitly_empty_policy_takes_the_fast_path() -> None:
    assert agree("rules: {}\n")
    assert agree("# no org rules yet\nrules: {}  # on purpose\nwaivers: []\n")


def test_a_clean_check_of_common_files_never_imports_pyyaml(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    from factories import ARN, VALID_MODEL, write_repo

    other = json.dumps({"configuredAudienceModelArn": ARN.replace("0001", "0002")})
    for policy in ("rules: {}\n", (ROOT / "policy.yaml").read_text(encoding="utf-8")):
        root = write_repo(tmp_path / str(len(policy)), {"models/a.yaml": VALID_MODEL, "models/b.json": other}, policy)
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CAM_GITOPS_DEBUG")}
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "cam_gitops.cli", "check", "models/a.yaml", "models/b.json"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "cam_gitops.check.checker" in modules  # the measurement saw the check
        assert done.returncode in (0, 1), done.stderr
        assert not {m for m in modules if m.split(".")[0] in ("yaml", "_yaml")}, policy[:40]
