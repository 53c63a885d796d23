"""Output injection through the real command line: hostile file names on disk, AWS error
messages, progress lines, usage and internal errors. The checks are those of
test_output_injection (terminal and CI log, GitHub workflow commands, Markdown as GitHub renders it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import ARN, model_text, write_repo
from test_output_injection import (
    assert_log_safe,
    assert_markdown_safe,
    assert_well_formed_annotation,
)

from cam_gitops import cli as cli_module
from cam_gitops.cli import cli, main
from cam_gitops.live.apply import FAILED, ApplyResult
from cam_gitops.live.aws import AwsError
from cam_gitops.live.plan import FieldChange
from cam_gitops.report.escape import terminal

CAM_GITOPS = str(Path(sys.executable).parent / "cam-gitops")

# File names under models/; those the file system refuses (a 10,000-character name) are skipped.
NAMES: list[str | bytes] = [
    "a`b``c.yaml",
    "x\n::error::pwned.yaml",
    "x\r##[error]pwned.yaml",
    "##[stop-commands]token.yaml",
    "\x1b[31mred\x1b[0m.yaml",
    "<img src=x onerror=alert(1)>.yaml",
    "@org/team.yaml",
    "::error::x.yaml",
    "[x](javascript:alert(1)).yaml",
    "![x](data:image-png;evil).yaml",
    "[x](https:/evil.example).yaml",  # a folder `[x](https:` and a file: `/` cannot be in a name
    "![x](https:/evil.example/p.png).yaml",
    "a|b|c.yaml",
    "\u202egnp.yaml",
    "zero\u200bwidth\ufeff.yaml",
    b"not-utf8-\xff\xfe.yaml",
    "L" * 10_000 + ".yaml",
]
HOSTILE_URI = "s3://evil-bucket/<img src=x onerror=alert(1)>/@org/team/[x](https://evil.example)/"
SOME_VALUES = [
    "x\n::error::pwned",
    "\x1b[31mred\x1b[2J",
    "x##[stop-commands]token",
    "::warning::pwned",
    "abc\u202edcba<img src=x>@org/team",
]


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A repository whose model files have hostile names and break the policy (seed size, s3Uri)."""
    root = write_repo(tmp_path_factory.mktemp("hostile") / "repo", {})
    created = []
    for i, name in enumerate(NAMES):
        relative = os.fsencode("models") + b"/" + (name if isinstance(name, bytes) else os.fsencode(name))
        path = os.fsencode(root) + b"/" + relative
        content = model_text(arn=ARN.replace("0001", f"{i + 100:04d}"), minMatchingSeedSize=100)
        content = content.replace("s3://acme-aud/us/retail/", HOSTILE_URI)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "xb") as handle:
                handle.write(content.encode())
        except OSError:
            continue  # ENAMETOOLONG, or a file system that refuses the bytes
        created.append(os.fsdecode(relative))
    assert len(created) >= len(NAMES) - 2, created
    (root / "::error::pwned.yaml").write_text(model_text(arn=ARN.replace("0001", "0999")))
    return root, created


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR")}
    return subprocess.run(
        [CAM_GITOPS, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="strict",  # the output must be valid UTF-8 whatever the names hold
        timeout=60,
        check=False,
    )


def test_check_text_and_output_file(hostile_repo: tuple[Path, list[str]]) -> None:
    root, created = hostile_repo
    result = run(root, "check", "--format", "text")
    assert result.returncode == 1, result.stderr
    assert_log_safe(result.stdout)
    assert_log_safe(result.stderr)
    for path in created:
        assert f"{terminal(path)}:" in result.stdout, f"{path!r} is reported, escaped"
    assert "evil-bucket" in result.stdout
    to_file = run(root, "check", "--format", "text", "--output", "report.txt")
    assert to_file.returncode == 1 and to_file.stdout == ""
    assert (root / "report.txt").read_text(encoding="utf-8") == result.stdout


def test_check_explicit_path_starting_a_line(hostile_repo: tuple[Path, list[str]]) -> None:
    root, _ = hostile_repo
    result = run(root, "check", "::error::pwned.yaml")
    assert_log_safe(result.stdout)
    assert result.stdout.startswith("\\u003a:error::pwned.yaml:1:1: warning [path]")


def test_check_github_writes_only_its_annotations(hostile_repo: tuple[Path, list[str]]) -> None:
    root, created = hostile_repo
    result = run(root, "check", "--format", "github")
    violations = json.loads(run(root, "check", "--format", "json").stdout)["violations"]
    assert result.returncode == 1
    annotations = assert_log_safe(result.stdout, commands=len(violations))
    files = [assert_well_formed_annotation(line)["file"] for line in annotations]
    assert files == [terminal(v["path"]) for v in violations]
    assert {terminal(path) for path in created} <= set(files)


def test_check_json_and_sarif_are_inert_and_exact(hostile_repo: tuple[Path, list[str]]) -> None:
    root, created = hostile_repo
    as_json = run(root, "check", "--format", "json")
    assert_log_safe(as_json.stdout)
    assert set(created) <= {v["path"] for v in json.loads(as_json.stdout)["violations"]}
    sarif = run(root, "check", "--format", "sarif")
    assert_log_safe(sarif.stdout)
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert all(r["message"]["text"].isprintable() for r in results)
    assert len(results) == len(json.loads(as_json.stdout)["violations"])


def test_plan_comment_when_check_fails(hostile_repo: tuple[Path, list[str]]) -> None:
    root, _ = hostile_repo
    result = run(root, "plan", "--format", "markdown")
    assert result.returncode == 1
    page = assert_markdown_safe(result.stdout)
    assert any("evil-bucket" in code for code in page.codes)
    assert_log_safe(result.stderr)
    assert "plan stopped: check found errors" in result.stderr


@pytest.fixture
def valid_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write_repo(tmp_path / "repo", {"models/m.yaml": model_text()})
    monkeypatch.chdir(root)
    for name in ("GITHUB_ACTIONS", "NO_COLOR", "CAM_GITOPS_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.mark.parametrize("value", SOME_VALUES)
def test_an_aws_error_message_on_stderr(value: str, valid_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(settings: Any, stop: Any = None) -> Any:
        raise AwsError("AccessDeniedException", value)

    monkeypatch.setattr("cam_gitops.live.runs.make_accounts", refuse)
    result = CliRunner().invoke(cli, ["plan"])
    assert result.exit_code == 1
    assert_log_safe(result.stderr)
    assert f"cam-gitops: error: AccessDeniedException: {terminal(value)}" in result.stderr


@pytest.mark.parametrize("value", SOME_VALUES)
def test_apply_progress_lines(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    report = cli_module._progress_reporter()
    report(1, 2, ApplyResult(value, value, FAILED, (FieldChange(value, 1, 2),), f"ConflictException: {value}"))
    report(2, 2, ApplyResult(f"models/{value}.yaml", value, FAILED, (FieldChange(value, 1, 2),)))
    err = capsys.readouterr().err
    assert_log_safe(err)
    assert err.count("\n") == 2
    assert f"ConflictException: {terminal(value)}" in err


@pytest.mark.parametrize("value", SOME_VALUES)
def test_usage_error_quoting_a_path(value: str, valid_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", f"models/{value}.yaml"]) == 4
    err = capsys.readouterr().err
    assert_log_safe(err)
    assert terminal(f"models/{value}.yaml") in err


@pytest.mark.parametrize("value", SOME_VALUES)
def test_internal_error_message(
    value: str, valid_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(value)

    monkeypatch.setattr("cam_gitops.check.run.execute_check", boom)
    assert main(["check"]) == 3
    err = capsys.readouterr().err
    assert_log_safe(err)
    assert f"cam-gitops: internal error: RuntimeError: {terminal(value)}" in err
