"""Startup cost: `cam-gitops check` never imports boto3, and jsonschema only for an invalid file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import ARN, VALID_MODEL, model_text, write_repo

BIN = Path(sys.executable).parent
HEAVY = ("boto3", "botocore", "jsonschema")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CAM_GITOPS_DEBUG")}
    env["NO_COLOR"] = "1"
    return env


def imported_modules(root: Path) -> tuple[int, str, set[str]]:
    """Exit code, stdout and every module the check imported (from -X importtime)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cam_gitops.cli", "check"],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    modules.discard("imported package")  # the header line
    return done.returncode, done.stdout, modules


def _heavy(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in prefixes)


def test_a_clean_check_imports_neither_boto3_nor_jsonschema(tmp_path: Path) -> None:
    other = json.dumps({"configuredAudienceModelArn": ARN.replace("0001", "0002")})
    root = write_repo(tmp_path, {"models/a.yaml": VALID_MODEL, "models/b.json": other}, policy={"rules": {}})
    code, stdout, modules = imported_modules(root)
    assert (code, stdout) == (0, "checked 2 files: no problems\n")
    assert "cam_gitops.check.checker" in modules  # the measurement saw the check run
    assert _heavy(modules, HEAVY) == []


def test_an_invalid_file_loads_jsonschema_but_still_not_boto3(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": model_text(minMatchingSeedSize="1500")}, policy={"rules": {}})
    code, stdout, modules = imported_modules(root)
    assert code == 1
    assert "models/a.yaml:4:22: error [schema]" in stdout
    assert "jsonschema" in modules
    assert _heavy(modules, ("boto3", "botocore")) == []


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["--version"]])
def test_help_and_version_exit_0(args: list[str]) -> None:
    done = subprocess.run(
        [str(BIN / "cam-gitops"), *args], env=_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "cam-gitops" in done.stdout or "Usage" in done.stdout
    if args == ["check", "--help"]:
        assert "Exit codes" in done.stdout and "waivers" in done.stdout
