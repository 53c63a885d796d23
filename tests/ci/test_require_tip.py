"""`apply --require-tip origin/main`: a re-run of an old apply run refuses before any AWS call.

Real git repositories on disk: a bare "origin", the clone an old CI run checked out, a newer push
from another clone, then the old run fetched (as actions/checkout does) and applying.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from emulator_fixtures import AUDIENCE_MODEL_ARN, ROLE_ARN, cam_arn, make_seed

from cam_gitops.emulator import EmulatorServer

pytestmark = pytest.mark.e2e

CAM_GITOPS = str(Path(sys.executable).parent / "cam-gitops")


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
    )
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def model(seed_size: int) -> str:
    return yaml.safe_dump(
        {
            "configuredAudienceModelArn": cam_arn("cam-0"),
            "audienceModelArn": AUDIENCE_MODEL_ARN,
            "minMatchingSeedSize": seed_size,
            "outputConfig": {
                "destination": {"s3Destination": {"s3Uri": "s3://cam-output-bucket/audiences/"}},
                "roleArn": ROLE_ARN,
            },
        }
    )


def commit_model(clone: Path, seed_size: int, message: str) -> str:
    (clone / "models").mkdir(exist_ok=True)
    (clone / "models" / "cam-0.yaml").write_text(model(seed_size), encoding="utf-8")
    (clone / "policy.yaml").write_text("rules: {}\n", encoding="utf-8")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", message)
    git(clone, "push", "-q", "origin", "HEAD:main")
    return git(clone, "rev-parse", "HEAD")


@pytest.fixture
def repos(tmp_path: Path) -> dict[str, Any]:
    """origin (bare), `old`: the clone of an earlier run, at commit one; origin/main moved on to two."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    writer = tmp_path / "writer"
    git(tmp_path, "clone", "-q", str(origin), str(writer))
    one = commit_model(writer, 600, "one")
    old = tmp_path / "old"
    git(tmp_path, "clone", "-q", str(origin), str(old))
    two = commit_model(writer, 700, "two")
    git(old, "fetch", "-q", "origin")  # what the re-run's checkout does: origin/main is the tip again
    return {"old": old, "one": one, "two": two}


def apply(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CAM_GITOPS, "apply", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", "AWS_MAX_ATTEMPTS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_old_commit_is_refused_with_exit_5_before_any_aws_call(
    repos: dict[str, Any], seeded_emulator: Callable[..., EmulatorServer]
) -> None:
    server = seeded_emulator(seed=make_seed(1))
    old: Path = repos["old"]
    assert git(old, "rev-parse", "HEAD") == repos["one"]
    done = apply(old, "--require-tip", "origin/main", "--report", "report.json")
    assert done.returncode == 5, done.stdout + done.stderr
    assert done.stderr == (
        f"cam-gitops: apply refused: this run is for {repos['one']} but origin/main is at {repos['two']}: "
        "a newer run applies origin/main; nothing was sent\n"
    )
    assert done.stdout == ""
    assert server.requests == []  # not even STS: the guard runs before credentials are read
    assert not (old / "report.json").exists()


def test_the_tip_applies_and_converges(repos: dict[str, Any], seeded_emulator: Callable[..., EmulatorServer]) -> None:
    server = seeded_emulator(seed=make_seed(1))
    old: Path = repos["old"]
    git(old, "checkout", "-q", "--detach", "origin/main")  # the newest run's checkout
    done = apply(old, "--require-tip", "origin/main", "--report", "report.json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((old / "report.json").read_text(encoding="utf-8"))
    assert [(r["path"], r["result"]) for r in report["results"]] == [("models/cam-0.yaml", "applied")]
    assert any(r.operation == "UpdateConfiguredAudienceModel" for r in server.requests)


def test_a_newer_push_outside_the_project_folder_does_not_make_the_run_stale(
    tmp_path: Path, seeded_emulator: Callable[..., EmulatorServer]
) -> None:
    """In a monorepo a push to another folder may start no apply run: the older run, whose
    project files are the tip's, applies."""
    server = seeded_emulator(seed=make_seed(1))
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    writer = tmp_path / "writer"
    git(tmp_path, "clone", "-q", str(origin), str(writer))
    (writer / "audiences").mkdir()
    commit_model(writer / "audiences", 600, "one")
    old = tmp_path / "old"
    git(tmp_path, "clone", "-q", str(origin), str(old))
    (writer / "other").mkdir()
    (writer / "other" / "README.md").write_text("another team\n", encoding="utf-8")
    git(writer, "add", "-A")
    git(writer, "commit", "-qm", "elsewhere")
    git(writer, "push", "-q", "origin", "HEAD:main")
    git(old, "fetch", "-q", "origin")
    done = apply(old / "audiences", "--require-tip", "origin/main")
    assert done.returncode == 0, done.stdout + done.stderr
    assert any(r.operation == "UpdateConfiguredAudienceModel" for r in server.requests)
    (writer / "audiences" / "models" / "cam-0.yaml").write_text(model(700), encoding="utf-8")
    git(writer, "commit", "-qam", "the project moved on")
    git(writer, "push", "-q", "origin", "HEAD:main")
    git(old, "fetch", "-q", "origin")
    assert apply(old / "audiences", "--require-tip", "origin/main").returncode == 5


@pytest.mark.parametrize("ref", ["origin/nope", "refs/remotes/origin/mian", "-x", "origin/main\n"])
def test_a_ref_that_does_not_exist_is_a_usage_error(
    repos: dict[str, Any], seeded_emulator: Callable[..., EmulatorServer], ref: str
) -> None:
    server = seeded_emulator(seed=make_seed(1))
    done = apply(repos["old"], "--require-tip", ref)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "--require-tip" in done.stderr and "Traceback" not in done.stderr
    assert server.requests == []


def test_outside_a_git_checkout_it_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("rules: {}\n", encoding="utf-8")
    done = apply(tmp_path, "--require-tip", "origin/main")
    assert done.returncode == 4
    assert "HEAD names no commit here" in done.stderr
