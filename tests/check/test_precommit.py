"""The pre-commit hook this project exports: a real git commit through pre-commit, and its files regex."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import ARN, VALID_MODEL, model_text

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOOK: dict[str, Any] = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())[0]
POLICY = "rules:\n  min-matching-seed-size: 1000\n  require-description: true\n"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(tmp_path / "home"),
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-cache"),
        GIT_CONFIG_NOSYSTEM="1",
        NO_COLOR="1",
    )
    env.pop("GITHUB_ACTIONS", None)
    return env


def _run(args: list[str], repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=False)


def _make_repo(tmp_path: Path, project: str) -> tuple[Path, dict[str, str]]:
    """A git repository whose cam-gitops project (policy.yaml, models/) is the folder project."""
    env = _env(tmp_path)
    (tmp_path / "home").mkdir()
    root = tmp_path / "repo"
    (root / project / "models").mkdir(parents=True)
    hook = {key: HOOK[key] for key in ("id", "name", "entry", "files", "require_serial")}
    hook["language"] = "system"
    (root / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}, sort_keys=False)
    )
    (root / project / "policy.yaml").write_text(POLICY)
    (root / project / "models" / "good.yaml").write_text(VALID_MODEL)
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.name", "Test"],
        ["git", "config", "user.email", "test@example.invalid"],
        ["git", "config", "commit.gpgsign", "false"],
        [str(BIN / "pre-commit"), "install"],
    ):
        done = _run(args, root, env)
        assert done.returncode == 0, done.stdout + done.stderr
    return root, env


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return _make_repo(tmp_path, ".")


def test_hook_checks_a_project_in_a_monorepo_subfolder(tmp_path: Path) -> None:
    root, env = _make_repo(tmp_path, "teams/audiences")
    bad = root / "teams/audiences/models/bad.yaml"
    bad.write_text(model_text(arn=ARN.replace("0001", "0002"), minMatchingSeedSize=100))
    (root / "README.md").write_text("monorepo\n")
    assert _run(["git", "add", "."], root, env).returncode == 0
    refused = _run(["git", "commit", "-q", "-m", "bad model"], root, env)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    # the subfolder's own policy.yaml judged it (min-matching-seed-size is not a schema rule)
    assert "teams/audiences/models/bad.yaml:4:22: error [min-matching-seed-size]" in output


def test_hook_rejects_a_bad_model_and_accepts_the_fix(repo: tuple[Path, dict[str, str]]) -> None:
    root, env = repo
    assert HOOK["entry"] == "cam-gitops check" and HOOK["require_serial"] is True
    bad = root / "models" / "bad.yaml"
    bad.write_text(model_text(arn=ARN.replace("0001", "0002"), minMatchingSeedSize=100))
    assert _run(["git", "add", "."], root, env).returncode == 0
    refused = _run(["git", "commit", "-q", "-m", "bad model"], root, env)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "models/bad.yaml:4:22: error [min-matching-seed-size] minMatchingSeedSize is 100" in output
    assert _run(["git", "rev-parse", "--verify", "-q", "HEAD"], root, env).returncode != 0  # nothing committed

    bad.write_text(bad.read_text().replace("minMatchingSeedSize: 100", "minMatchingSeedSize: 1500"))
    assert _run(["git", "add", "."], root, env).returncode == 0
    accepted = _run(["git", "commit", "-q", "-m", "fixed model"], root, env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "cam-gitops check" in accepted.stdout + accepted.stderr  # the hook ran, and passed
    log = _run(["git", "log", "--format=%s"], root, env)
    assert log.stdout.split("\n")[0] == "fixed model"


MATCHES = [
    "models/a.yaml",
    "models/x/y.yml",
    "models/z.json",
    "policy.yaml",
    "schemas/configured-audience-model.schema.json",
    "teams/audiences/models/a.yaml",  # a project in a subfolder (a monorepo)
    "teams/audiences/policy.yaml",
]
MATCHES += ["teams/audiences/models/a.yaml", "teams/audiences/policy.yaml"]
NO_MATCH = [
    "README.md",
    "models.yaml",
    "cam_gitops/x.py",
    "models/notes.txt",
    "schemas/sub/x.json",
    "mymodels/a.yaml",
    "apolicy.yaml",
]


@pytest.mark.parametrize("path", MATCHES)
def test_hook_files_regex_matches_model_policy_and_schema_files(path: str) -> None:
    assert re.search(HOOK["files"], path)


@pytest.mark.parametrize("path", NO_MATCH)
def test_hook_files_regex_ignores_other_files(path: str) -> None:
    assert not re.search(HOOK["files"], path)
