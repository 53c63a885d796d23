"""Shared by the end-to-end tests: model files for emulator models, and git repositories of them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from emulator_fixtures import ACCOUNT_ID, AUDIENCE_MODEL_ARN, REGION, cam_arn

CAM_GITOPS = str(Path(sys.executable).parent / "cam-gitops")
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/cam-output"
POLICY = {"rules": {"allowed-regions": [REGION, "eu-west-1"], "audience-size-ascending": True}}


def desired(name: str, **changes: Any) -> dict[str, Any]:
    """A model file's content for the emulator model called name."""
    data: dict[str, Any] = {
        "configuredAudienceModelArn": cam_arn(name),
        "description": f"{name} lookalikes",
        "audienceModelArn": AUDIENCE_MODEL_ARN,
        "minMatchingSeedSize": 1000,
        "sharedAudienceMetrics": ["NONE"],
        "outputConfig": {"destination": {"s3Destination": {"s3Uri": f"s3://aud/{name}/"}}, "roleArn": ROLE},
        "audienceSizeConfig": {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [1000, 5000]},
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def live_seed(count: int) -> dict[str, Any]:
    """count live models cam-0..cam-N-1, each differing from desired() in minMatchingSeedSize only."""
    records = [dict(desired(f"cam-{i}"), name=f"cam-{i}", minMatchingSeedSize=500) for i in range(count)]
    return {"audienceModels": [AUDIENCE_MODEL_ARN], "configuredAudienceModels": records}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_repo(
    root: Path, models: dict[str, dict[str, Any]], commit: bool = True, policy: dict[str, Any] | None = None
) -> Path:
    """A git repository (one commit) with policy.yaml and models/<name>.yaml; root may be a subfolder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "policy.yaml").write_text(yaml.safe_dump(policy if policy is not None else POLICY))
    write_models(root, models)
    if commit:
        git(root, "init", "-q", "-b", "main")
        git(root, "config", "user.email", "ci@example.com")
        git(root, "config", "user.name", "CI")
        git(root, "config", "commit.gpgsign", "false")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "models")
    return root


def commit_all(root: Path, message: str) -> None:
    """Stage everything and commit, as a merge to main would."""
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def write_models(root: Path, models: dict[str, dict[str, Any]]) -> None:
    for name, data in models.items():
        path = root / "models" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def plan_json(run: Callable[..., Any], root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    completed = run(root, "plan", "--format", "json", *args)
    assert completed.stdout, completed.stderr
    return completed.returncode, json.loads(completed.stdout)
