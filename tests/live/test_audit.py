"""The audit trail of apply: a JSON line per model touched, in a file or as one S3 object per run."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from e2e_helpers import commit_all, desired, live_seed, make_repo, write_models

from cam_gitops.emulator import EmulatorServer
from cam_gitops.live.audit import audit_context, object_key

pytestmark = pytest.mark.e2e

Start = Callable[..., EmulatorServer]
CI = {"GITHUB_ACTOR": "ana", "GITHUB_RUN_ID": "42", "GITHUB_REPOSITORY": "acme/audiences"}


def test_an_audit_line_per_model_touched_in_a_file(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = live_seed(3)
    seed["configuredAudienceModels"][2]["minMatchingSeedSize"] = 1000  # cam-2 already matches
    seeded_emulator(seed=seed)
    models = {f"cam-{i}": desired(f"cam-{i}") for i in range(3)}
    models["cam-1"] = desired("cam-1", tags={"team": "retail"})
    root = make_repo(tmp_path / "repo", models)
    head = git_head(root)
    for name, value in CI.items():
        monkeypatch.setenv(name, value)
    applied = run(root, "apply", "--audit", "audit/trail.jsonl")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "audit trail: 2 line(s) to audit/trail.jsonl" in applied.stderr
    lines = [json.loads(line) for line in (root / "audit/trail.jsonl").read_text().splitlines()]
    assert [(line["path"], line["result"]) for line in lines] == [
        ("models/cam-0.yaml", "applied"),
        ("models/cam-1.yaml", "applied"),
    ]  # cam-2 was not touched
    first = lines[0]
    assert (first["commit"], first["actor"], first["run"]) == (
        head,
        "ana",
        "https://github.com/acme/audiences/actions/runs/42",
    )
    assert first["changes"] == [{"field": "minMatchingSeedSize", "before": 500, "after": 1000}]
    assert {"field": "tags.team", "before": None, "after": "retail"} in lines[1]["changes"]
    assert dt.datetime.strptime(first["time"], "%Y-%m-%dT%H:%M:%SZ")

    write_models(root, {"cam-2": desired("cam-2", minMatchingSeedSize=3000)})
    commit_all(root, "another change")
    assert run(root, "apply", "--audit", "audit/trail.jsonl").returncode == 0
    appended = (root / "audit/trail.jsonl").read_text().splitlines()
    assert len(appended) == 3 and json.loads(appended[2])["path"] == "models/cam-2.yaml"


def test_one_s3_object_per_run_never_overwritten(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    server = seeded_emulator(seed=live_seed(1))
    s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
    bucket = f"acme-audit-{uuid.uuid4().hex[:12]}"  # moto's S3 lives as long as the test process
    s3.create_bucket(Bucket=bucket)
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    first = run(root, "apply", "--audit", f"s3://{bucket}/cam-gitops")
    assert first.returncode == 0, first.stdout + first.stderr
    write_models(root, {"cam-0": desired("cam-0", minMatchingSeedSize=4000)})
    commit_all(root, "raise the floor")
    assert run(root, "apply", "--audit", f"s3://{bucket}/cam-gitops/").returncode == 0

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert len(keys) == 2 and all(k.startswith("cam-gitops/") and k.endswith(".jsonl") for k in keys)
    bodies = [s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode() for k in keys]
    changes = sorted(json.loads(body.splitlines()[0])["changes"][0]["after"] for body in bodies)
    assert changes == [1000, 4000]
    assert git_head(root)[:12] in keys[1] or git_head(root)[:12] in keys[0]  # the key names the commit


def test_an_audit_that_cannot_be_written_fails_the_run(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    seeded_emulator(seed=live_seed(1))
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    applied = run(root, "apply", "--audit", "s3://no-such-bucket/x/")
    assert applied.returncode == 1
    assert "the audit trail could not be written" in applied.stderr
    assert run(root, "apply", "--audit", "s3://bad bucket/").returncode == 4


def test_an_object_key_carries_the_time_and_the_commit(tmp_path: Path) -> None:
    when = dt.datetime(2026, 11, 29, 12, 0, 5, tzinfo=dt.timezone.utc)
    context = audit_context(tmp_path, {"GITHUB_SHA": "a" * 40}, when)
    key = object_key("trail/", context)
    assert key.startswith("trail/20261129T120005Z-aaaaaaaaaaaa-") and key.endswith(".jsonl")
    assert object_key("trail/", context) != key  # two runs in the same second never collide


def git_head(root: Path) -> str:
    import subprocess

    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_without_ci_variables_the_commit_is_heads_and_outside_git_there_is_none(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a": desired("a")})  # one commit
    assert audit_context(repo, {}).commit == git_head(repo)
    (tmp_path / "plain").mkdir()
    assert audit_context(tmp_path / "plain", {}).commit is None
    assert audit_context(repo, {"GITHUB_SHA": "f" * 40}).commit == "f" * 40
