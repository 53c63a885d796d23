"""policy.yaml cannot be emptied by padding: the whole file is read, and no rules must be said.

Seen: the policy loader read only the first 64 KiB to decide whether the file was empty, so
one added 64 KiB comment line turned the policy into "no rules" (a warning, exit 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import model_text, write_repo

from cam_gitops.cli import cli
from cam_gitops.exitcodes import FINDINGS, USAGE
from cam_gitops.loader import MAX_FILE_BYTES

RULE = "rules:\n  min-matching-seed-size: 1000\n"
KIB = 1024


def check(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[tuple[str, str, int, str]]]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(cli, ["check", "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    found = json.loads(result.output)["violations"]
    return result.exit_code, [(f["path"], f["rule"], f["line"], f["message"]) for f in found]


def comment_header(size: int) -> str:
    """One comment line of `size` bytes, newline included."""
    return "#" + "x" * (size - 2) + "\n"


@pytest.mark.parametrize("header", [64 * KIB, 64 * KIB + 1, 65 * KIB, 512 * KIB, MAX_FILE_BYTES - 200])
def test_a_long_comment_header_does_not_hide_the_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, header: int
) -> None:
    root = write_repo(
        tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=30)}, policy=comment_header(header) + RULE
    )
    code, found = check(root, monkeypatch)
    assert code == FINDINGS
    assert found == [
        ("models/m.yaml", "min-matching-seed-size", 4, "minMatchingSeedSize is 30; policy requires at least 1000")
    ]


def test_many_comment_lines_do_not_hide_the_rules_either(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    padding = "# reviewed\n" * (70 * KIB // 11)
    root = write_repo(tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=30)}, policy=padding + RULE)
    code, found = check(root, monkeypatch)
    assert (code, [f[1] for f in found]) == (FINDINGS, ["min-matching-seed-size"])


def test_a_policy_over_the_size_cap_is_refused_not_emptied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(
        tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=30)}, policy=comment_header(MAX_FILE_BYTES) + RULE
    )
    code, found = check(root, monkeypatch)
    assert code == USAGE
    assert found == [
        (
            "policy.yaml",
            "parse",
            1,
            "file is larger than 1 MiB; a policy file is a few kilobytes at most: is this the right file?",
        )
    ]


def test_a_long_comment_only_policy_is_an_error_not_an_empty_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=30)}, policy=comment_header(100 * KIB))
    code, found = check(root, monkeypatch)
    assert code == USAGE
    assert [(f[0], f[1], f[2]) for f in found] == [("policy.yaml", "parse", 1)]
    assert "`rules: {}` to enforce no org rules on purpose" in found[0][3]


def test_what_follows_a_long_header_is_read_strictly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = comment_header(70 * KIB) + RULE + "  min-matching-seed-size: 10\n"  # a duplicate past 64 KiB
    root = write_repo(tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=30)}, policy=policy)
    code, found = check(root, monkeypatch)
    assert code == USAGE
    assert [(f[1], f[2]) for f in found] == [("duplicate-key", 4)]
    (root / "policy.yaml").write_bytes(comment_header(70 * KIB).encode() + b"rules:\n  require-description: tr\xffe\n")
    code, found = check(root, monkeypatch)
    assert (code, [(f[1], f[2]) for f in found]) == (USAGE, [("parse", 3)])
