"""The exported hook, installed by pre-commit from a clone of this repository at a release tag,
blocks a violating commit in a new repository set up by `cam-gitops init`, at the root and in a
monorepo subfolder. pre-commit builds the hook's own environment (language: python) from the
clone, as it does for an adopter: this needs the package registry and takes about a minute."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from factories import ARN, VALID_MODEL, model_text

from cam_gitops.scaffold import InitOptions, run_init

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RELEASE = "1.2.3"

pytestmark = pytest.mark.e2e


def run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT", "VIRTUAL_ENV"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        PRE_COMMIT_HOME=str(home / "pre-commit-cache"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
        NO_COLOR="1",
    )
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def release_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's files as they are now, committed and tagged v1.2.3 in a local clone."""
    clone = tmp_path_factory.mktemp("cam-gitops-clone")
    home = tmp_path_factory.mktemp("home")
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], PROJECT, home)
    for name in filter(None, listed.stdout.split("\0")):
        source = PROJECT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    for args in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "release"]):
        assert run(args, clone, home).returncode == 0
    assert run(["git", "tag", f"v{RELEASE}"], clone, home).returncode == 0
    return clone


@pytest.mark.parametrize("folder", ["", "teams/audiences"])
def test_the_hook_at_the_release_tag_blocks_a_violating_commit(
    release_clone: Path, tmp_path: Path, folder: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    assert run(["git", "init", "-q", "-b", "main"], repo, home).returncode == 0
    project = repo / folder
    project.mkdir(parents=True, exist_ok=True)
    report = run_init(InitOptions(project, version=RELEASE))
    assert report.exit_code == 0, report.lines
    config_path = repo / ".pre-commit-config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert config["repos"][0]["rev"] == f"v{RELEASE}"
    config["repos"][0]["repo"] = str(release_clone)  # a local clone instead of the public one
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert run(["pre-commit", "install"], repo, home).returncode == 0

    models = project / "models"
    (models / "good.yaml").write_text(VALID_MODEL, encoding="utf-8")
    (models / "bad.yaml").write_text(model_text(arn=ARN.replace("0001", "0002"), minMatchingSeedSize=100))
    assert run(["git", "add", "-A"], repo, home).returncode == 0
    refused = run(["git", "commit", "-qm", "bad model"], repo, home)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "bad.yaml:4:22: error [min-matching-seed-size] minMatchingSeedSize is 100" in output
    assert run(["git", "rev-parse", "--verify", "-q", "HEAD"], repo, home).returncode != 0  # nothing committed

    (models / "bad.yaml").write_text(model_text(arn=ARN.replace("0001", "0002"), minMatchingSeedSize=1500))
    assert run(["git", "add", "-A"], repo, home).returncode == 0
    accepted = run(["git", "commit", "-qm", "fixed model"], repo, home)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "cam-gitops check" in accepted.stdout + accepted.stderr  # the hook ran, and passed
