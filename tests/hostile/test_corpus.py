"""The whole hostile-input corpus through `cam-gitops check`: findings, never a crash.

Every model file of corpus/models goes through ONE run of the installed CLI, as a pre-commit
hook or CI job would run it: no exit 3, no traceback, at least one finding with line and
column for every file (the one corpus/expected.json names among them), and a run of under
a second per file. Every policy of corpus/policies is used by a run of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import VALID_MODEL, write_repo
from hostile_corpus import CORPUS, corpus_files, expected

from cam_gitops.cli import cli
from cam_gitops.exitcodes import FINDINGS

BIN = Path(sys.executable).parent / "cam-gitops"
MODELS = corpus_files("models")
POLICIES = corpus_files("policies")
EXPECTED = expected()
RUN_POLICY = "policies/catastrophic-globs.yaml"


def test_every_corpus_file_says_what_it_must_produce() -> None:
    assert len(MODELS) >= 40 and len(POLICIES) >= 10
    assert sorted(EXPECTED["models"]) == sorted(MODELS), "add the file's expected finding to corpus/expected.json"
    assert sorted(EXPECTED["policies"]) == sorted(POLICIES), "add the policy's expected outcome to corpus/expected.json"


def test_the_whole_model_corpus_in_one_check_process(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {}, policy=POLICIES[RUN_POLICY].decode())
    for name, content in MODELS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CAM_GITOPS_DEBUG")}
    env["NO_COLOR"] = "1"
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN), "check", "--format", "json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60 + len(MODELS),
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == FINDINGS, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["files_checked"] == len(MODELS)
    found: dict[str, list[tuple[str, int, int]]] = {}
    for violation in report["violations"]:
        found.setdefault(violation["path"], []).append((violation["rule"], violation["line"], violation["column"]))
    for name in MODELS:
        assert found.get(name), f"{name}: no finding"
        assert all(line >= 1 and column >= 1 for _, line, column in found[name]), name
        rule, line, column = EXPECTED["models"][name]
        assert (rule, line, column) in found[name], (name, found[name])
    assert elapsed < len(MODELS) * 1.0, f"{elapsed:.1f} s for {len(MODELS)} files"


def run_with_policy(root: Path, monkeypatch: pytest.MonkeyPatch, policy_name: str) -> tuple[int, list[dict[str, Any]]]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(cli, ["check", "--format", "json", "--policy", policy_name])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)["violations"]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_each_hostile_policy_is_refused_or_enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    model = VALID_MODEL.replace("minMatchingSeedSize: 1500", "minMatchingSeedSize: 30")
    root = write_repo(tmp_path, {"models/m.yaml": model}, policy="rules: {}\n")
    policy_name = "hostile-policy" + Path(name).suffix
    (root / policy_name).write_bytes(POLICIES[name])
    code, found = run_with_policy(root, monkeypatch, policy_name)
    want = EXPECTED["policies"][name]
    assert code == want["exit"], found
    path, rule, line, column = want["finding"]
    path = policy_name if path == "POLICY" else path
    assert {"path": path, "rule": rule, "line": line, "column": column} in [
        {key: f[key] for key in ("path", "rule", "line", "column")} for f in found
    ], found


def test_the_corpus_readme_names_every_class_folder() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for folder in sorted({name.split("/")[1] for name in MODELS}):
        assert f"models/{folder}/" in readme, folder
