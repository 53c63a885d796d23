"""import end to end: the installed cam-gitops as a subprocess against the emulator.

Every test holds whether or not the emulator isolates regions and accounts like AWS: models
are listed per region with a client of that region, and the credentials' account is the
emulator's default account unless a test assumes a role.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from emulator_fixtures import ACCOUNT_ID, cam_arn

from cam_gitops.emulator import EmulatorServer

pytestmark = pytest.mark.e2e

CAM_GITOPS = str(Path(sys.executable).parent / "cam-gitops")
PROJECT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
OTHER_ACCOUNT = "210987654321"
EU = "eu-west-1"
US = "us-east-1"
POLICY = """\
# Org policy. Owned by privacy review: keep this comment.
rules:
  allowed-regions: [us-east-1, eu-west-1]
  # the privacy floor
  min-matching-seed-size: 1000
  require-description: true
waivers: []  # none yet
"""

Start = Callable[..., EmulatorServer]
Run = Callable[..., subprocess.CompletedProcess[str]]


def record(model_id: str, name: str | None = None, region: str = US, account: str = ACCOUNT_ID, **fields: Any) -> Any:
    """A live model in GetConfiguredAudienceModel shape, compliant with POLICY unless fields say otherwise."""
    data: dict[str, Any] = {
        "configuredAudienceModelArn": cam_arn(model_id, region=region, account=account),
        "name": name or model_id,
        "audienceModelArn": f"arn:aws:cleanrooms-ml:{region}:{account}:audience-model/am-1",
        "description": f"{model_id} lookalikes",
        "minMatchingSeedSize": 1500,
        "sharedAudienceMetrics": ["NONE"],
        "outputConfig": {
            "destination": {"s3Destination": {"s3Uri": f"s3://audiences/{model_id}/"}},
            "roleArn": f"arn:aws:iam::{account}:role/cam-output",
        },
        "audienceSizeConfig": {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [1000, 5000]},
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def seed(*records: dict[str, Any]) -> dict[str, Any]:
    return {"audienceModels": [], "configuredAudienceModels": list(records)}


def new_repo(root: Path, policy: str | None = POLICY, schemas: bool = False) -> Path:
    """A git repository with a policy and no model files."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    if policy is not None:
        (root / "policy.yaml").write_text(policy)
    if schemas:
        shutil.copytree(PROJECT_SCHEMAS, root / "schemas")
    return root


@pytest.fixture
def cli() -> Run:
    def invoke(cwd: Path, *args: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CI")}
        environment["NO_COLOR"] = "1"
        for key, value in (env or {}).items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        return subprocess.run(
            [CAM_GITOPS, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
        )

    return invoke


def model_files(root: Path) -> dict[str, dict[str, Any]]:
    """Repository-relative path -> data of every model file."""
    return {
        p.relative_to(root).as_posix(): yaml.safe_load(p.read_text()) for p in sorted((root / "models").rglob("*.yaml"))
    }


def assert_clean(cli: Run, root: Path, *plan_args: str) -> None:
    """check passes and plan has nothing to change."""
    checked = cli(root, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    planned = cli(root, "plan", "--detailed-exitcode", *plan_args)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "Plan: 0 to update" in planned.stdout


def test_empty_repository_imports_the_default_region(tmp_path: Path, seeded_emulator: Start, cli: Run) -> None:
    seeded_emulator(seed=seed(record("eu-a", region=EU), record("us-a", region=US)))
    root = new_repo(tmp_path / "repo")
    only_aws_region = {"AWS_REGION": EU, "AWS_DEFAULT_REGION": None}
    imported = cli(root, "import", "--all", env=only_aws_region)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert f"Listed account {ACCOUNT_ID} in {EU} (the default region, from AWS_REGION" in imported.stdout
    assert list(model_files(root)) == ["models/eu-a.yaml"]
    assert model_files(root)["models/eu-a.yaml"]["configuredAudienceModelArn"] == cam_arn("eu-a", region=EU)
    text = (root / "models/eu-a.yaml").read_text()
    assert "$schema" not in text  # no schemas/ in this repository: nothing to point at
    assert "`cam-gitops init` writes the schemas" in imported.stdout
    assert "Import: 1 written, 0 already managed, 0 failed." in imported.stdout
    assert_clean(cli, root)

    # Now the repository uses eu-west-1: a second run lists it and finds nothing new.
    again = cli(root, "import", "--all", env=only_aws_region)
    assert again.returncode == 0
    assert "the regions of the repository's model files" in again.stdout
    assert "already managed by models/eu-a.yaml" in again.stdout


def test_region_option_lists_another_region(tmp_path: Path, seeded_emulator: Start, cli: Run) -> None:
    seeded_emulator(seed=seed(record("eu-a", region=EU), record("us-a", region=US)))
    root = new_repo(tmp_path / "repo")
    imported = cli(root, "import", "--all", "--region", US, env={"AWS_REGION": EU})
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert f"Listed account {ACCOUNT_ID} in {US} (--region)." in imported.stdout
    assert list(model_files(root)) == ["models/us-a.yaml"]
    assert_clean(cli, root)


def test_no_region_anywhere_is_a_usage_error(tmp_path: Path, seeded_emulator: Start, cli: Run) -> None:
    server = seeded_emulator(seed=seed(record("us-a")))
    root = new_repo(tmp_path / "repo")
    completed = cli(root, "import", "--all", env={"AWS_REGION": None, "AWS_DEFAULT_REGION": None})
    assert completed.returncode == 4
    assert "no region to list" in completed.stderr and "--region" in completed.stderr
    assert server.requests == []


def test_same_name_in_two_regions_and_an_existing_file(tmp_path: Path, seeded_emulator: Start, cli: Run) -> None:
    seeded_emulator(
        seed=seed(
            record("cam-us", name="Lookalike", region=US),
            record("cam-eu", name="Lookalike", region=EU),
            record("hand", region=US),
            record("solo-2", name="solo", region=US),
        )
    )
    root = new_repo(tmp_path / "repo")
    (root / "models").mkdir()
    hand_written = "# written by hand\n" + yaml.safe_dump(
        {"configuredAudienceModelArn": cam_arn("hand"), "description": "hand lookalikes", "minMatchingSeedSize": 1500}
    )
    (root / "models/solo.yaml").write_text(hand_written)

    imported = cli(root, "import", "--all", "--region", US, "--region", EU)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    files = model_files(root)
    assert {path: data["configuredAudienceModelArn"] for path, data in files.items()} == {
        "models/lookalike-eu-west-1.yaml": cam_arn("cam-eu", region=EU),
        "models/lookalike-us-east-1.yaml": cam_arn("cam-us"),
        "models/solo-us-east-1.yaml": cam_arn("solo-2"),
        "models/solo.yaml": cam_arn("hand"),
    }
    assert (root / "models/solo.yaml").read_text() == hand_written
    assert f"already managed by models/solo.yaml  {cam_arn('hand')}" in imported.stdout
    assert "Import: 3 written, 1 already managed, 0 failed." in imported.stdout
    assert '# name: "Lookalike"' in (root / "models/lookalike-eu-west-1.yaml").read_text()
    assert_clean(cli, root)

    rerun = cli(root, "import", "--all", "--region", US, "--region", EU)
    assert rerun.returncode == 0
    assert "Import: 0 written, 4 already managed, 0 failed." in rerun.stdout
    assert set(model_files(root)) == set(files)


def test_model_of_another_account(tmp_path: Path, seeded_emulator: Start, cli: Run) -> None:
    foreign = cam_arn("far", account=OTHER_ACCOUNT)
    seeded_emulator(seed=seed(record("near"), record("far", account=OTHER_ACCOUNT)))
    root = new_repo(tmp_path / "repo")

    refused = cli(root, "import", foreign)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"error: {foreign}: model is in account {OTHER_ACCOUNT}" in refused.stderr
    assert "--role-arn-template" in refused.stderr
    assert "Traceback" not in refused.stderr and "internal error" not in refused.stderr
    assert not (root / "models").exists() or model_files(root) == {}

    needs_role = cli(root, "import", "--all", "--account", OTHER_ACCOUNT)
    assert needs_role.returncode == 4
    assert "--role-arn-template" in needs_role.stderr

    template = "arn:aws:iam::{account}:role/cam-gitops-import"
    listed = cli(root, "import", "--all", "--region", US, "--account", OTHER_ACCOUNT, "--role-arn-template", template)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"Listed accounts {ACCOUNT_ID}, {OTHER_ACCOUNT} in {US} (--region)." in listed.stdout
    arns = {data["configuredAudienceModelArn"] for data in model_files(root).values()}
    assert arns == {cam_arn("near"), foreign}
    planned = cli(root, "plan", "--detailed-exitcode", "--role-arn-template", template)
    assert planned.returncode == 0, planned.stdout + planned.stderr


def test_missing_model_says_how_to_create_one(tmp_path: Path, seeded_emulator: Start, cli: Run) -> None:
    seeded_emulator(seed=seed(record("near")))
    root = new_repo(tmp_path / "repo")
    completed = cli(root, "import", cam_arn("ghost"), "arn:aws:s3:::a-bucket", cam_arn("near"))
    assert completed.returncode == 1
    assert f"error: {cam_arn('ghost')}: ResourceNotFoundException" in completed.stderr
    assert "cam-gitops does not create models" in completed.stderr
    assert "aws cleanroomsml create-configured-audience-model" in completed.stderr
    assert "then `cam-gitops import <its ARN>`" in completed.stderr
    assert "error: arn:aws:s3:::a-bucket: not a configured audience model ARN" in completed.stderr
    assert list(model_files(root)) == ["models/near.yaml"]  # the others did not stop it
    assert "Import: 1 written, 0 already managed, 2 failed." in completed.stdout


def test_dir_is_relative_to_the_root_and_the_modeline_resolves(
    tmp_path: Path, seeded_emulator: Start, cli: Run
) -> None:
    seeded_emulator(seed=seed(record("us-a")))
    root = new_repo(tmp_path / "repo", schemas=True)
    subfolder = root / "docs" / "deep"
    subfolder.mkdir(parents=True)
    imported = cli(subfolder, "import", "--all", "--dir", "models/retail", "--region", US)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    written = root / "models/retail/us-a.yaml"
    assert "wrote models/retail/us-a.yaml" in imported.stdout
    first = written.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schemas/configured-audience-model.schema.json"
    reference = first.split("$schema=", 1)[1]
    assert (written.parent / reference).resolve() == (root / "schemas/configured-audience-model.schema.json")
    assert not (subfolder / "models").exists()
    assert_clean(cli, subfolder)

    outside = cli(subfolder, "import", "--all", "--dir", "retail", "--region", US)
    assert outside.returncode == 4
    assert "not inside models/" in outside.stderr


def test_baseline_waives_what_the_policy_refuses(tmp_path: Path, seeded_emulator: Start, cli: Run) -> None:
    seeded_emulator(
        seed=seed(record("good"), record("legacy", description=None, minMatchingSeedSize=500)),
    )
    root = new_repo(tmp_path / "repo")
    plain = cli(root, "import", "--all", "--region", US)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "1 imported file(s) break the policy" in plain.stdout and "--baseline" in plain.stdout
    assert cli(root, "check").returncode == 1

    baselined = cli(root, "import", "--all", "--region", US, "--baseline", "--baseline-days", "30")
    assert baselined.returncode == 0, baselined.stdout + baselined.stderr
    assert "--baseline: added 2 waiver(s) to policy.yaml" in baselined.stdout
    policy_text = (root / "policy.yaml").read_text()
    assert policy_text.startswith(POLICY.split("waivers:")[0])  # comments and rules untouched
    assert "waivers:  # none yet" in policy_text
    today = dt.date.today()
    expires = (today + dt.timedelta(days=30)).isoformat()
    waivers = yaml.safe_load(policy_text)["waivers"]
    assert waivers == [
        {
            "path": "models/legacy.yaml",
            "rule": rule,
            "reason": f"baseline: imported {today.isoformat()}, fix by {expires}",
            "expires": expires,
        }
        for rule in ("min-matching-seed-size", "require-description")
    ]
    checked = cli(root, "check")
    assert checked.returncode == 0, checked.stdout
    assert "(2 waived)" in checked.stdout
    assert_clean(cli, root)


HOSTILE_DESCRIPTIONS = ["1e3", "yes", "null", "~", "- x", "#x", ": x", "*x", "&x", "!x", "%x", "@x", "|x", ">x"]


def test_import_then_plan_is_a_no_op_for_hostile_values(tmp_path: Path, seeded_emulator: Start, cli: Run) -> None:
    records = [
        record(
            f"m-{i}",
            name=f"{text} #{i}\t",
            description=text + "  ",
            tags={"owner": f"line\nbreak #{i}", "note": "\u2028\u202e"},
        )
        for i, text in enumerate(HOSTILE_DESCRIPTIONS)
    ]
    records.append(record("pct", audienceSizeConfig={"audienceSizeType": "PERCENTAGE", "audienceSizeBins": [1, 5, 10]}))
    server = seeded_emulator(seed=seed(*records))
    root = new_repo(tmp_path / "repo", schemas=True)
    imported = cli(root, "import", "--all", "--region", US, "--concurrency", "4")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert f"Import: {len(records)} written, 0 already managed, 0 failed." in imported.stdout
    gets = [r for r in server.requests if r.operation == "GetConfiguredAudienceModel"]
    assert len(gets) == len(records)
    assert_clean(cli, root)
    drift = cli(root, "drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr
