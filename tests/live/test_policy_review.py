"""A change to policy.yaml is seen in review: the PR plan's Policy section, end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_helpers import commit_all, desired, live_seed, make_repo

from cam_gitops.emulator import EmulatorServer

pytestmark = pytest.mark.e2e


def test_a_loosened_policy_is_marked_in_every_plan_format(
    tmp_path: Path, seeded_emulator: Callable[..., EmulatorServer], run: Callable[..., Any]
) -> None:
    seeded_emulator(seed=live_seed(1))
    policy = {"rules": {"min-matching-seed-size": 1000, "require-description": True}}
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")}, policy=policy)
    policy["rules"]["min-matching-seed-size"] = 100
    policy["waivers"] = [
        {"path": "models/**", "rule": "require-description", "reason": "nobody writes them", "expires": "2099-01-01"}
    ]
    (root / "policy.yaml").write_text(yaml.safe_dump(policy))
    commit_all(root, "loosen the seed floor")

    planned = run(root, "plan", "--changed-since", "HEAD~1", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    section = json.loads(planned.stdout)["policy"]
    assert section["loosened"] is True
    assert {"scope": "rules", "rule": "min-matching-seed-size", "from": 1000, "to": 100, "direction": "looser"} in (
        section["rules"]
    )
    assert [(e["kind"], e["change"], e["target"]) for e in section["entries"]] == [("waiver", "added", "models/**")]
    assert [c["path"] for c in json.loads(planned.stdout)["changes"]] == ["models/cam-0.yaml"]  # every model

    markdown = run(root, "plan", "--changed-since", "HEAD~1", "--format", "markdown").stdout
    assert "This change **loosens** the policy" in markdown
    text = run(root, "plan", "--changed-since", "HEAD~1").stdout
    assert "LOOSER: min-matching-seed-size: 1000 -> 100" in text
    github = run(root, "plan", "--changed-since", "HEAD~1", "--format", "github").stdout
    assert "::warning file=policy.yaml" in github and "plan-policy-loosened" in github
    check = run(root, "check")
    assert "matches every model file" in check.stdout  # the waiver for everything is flagged too

    unchanged = run(root, "plan", "--changed-since", "HEAD", "--format", "json")
    assert json.loads(unchanged.stdout)["policy"] is None
