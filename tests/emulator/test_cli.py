"""``python -m cam_gitops.emulator``: start banner, flags, and the hint when the extra is missing."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner
from emulator_fixtures import EmulatorProcess, audience_model_arn, cam_arn, cam_request, clean_env, make_seed

from cam_gitops.emulator.__main__ import main as cli_main

REPO = Path(__file__).resolve().parents[2]
CAM_GITOPS = str(Path(sys.executable).parent / "cam-gitops")
SEED_ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{SEED_ACCOUNT}:role/cam-output"
StartProcess = Callable[..., EmulatorProcess]


def _env() -> dict[str, str]:
    """No AWS variables, and this checkout importable (the CLI runs as a subprocess)."""
    return clean_env(PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _client(process: EmulatorProcess, service: str, **session: Any) -> Any:
    """A client configured only from the banner's exports (as a user's shell would be)."""
    exports = process.exports
    return boto3.Session(
        aws_access_key_id=session.get("key", exports["AWS_ACCESS_KEY_ID"]),
        aws_secret_access_key=session.get("secret", exports["AWS_SECRET_ACCESS_KEY"]),
        aws_session_token=session.get("token"),
        region_name=exports["AWS_DEFAULT_REGION"],
    ).client(service, endpoint_url=exports["AWS_ENDPOINT_URL"])


def _seed_file(tmp_path: Path, seed: dict[str, Any]) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    return path


def _account_seed() -> dict[str, Any]:
    """One live model in SEED_ACCOUNT, its file content being exactly the live state."""
    model = cam_request(
        name="spring",
        configuredAudienceModelArn=cam_arn("spring", account=SEED_ACCOUNT),
        audienceModelArn=audience_model_arn(account=SEED_ACCOUNT),
        outputConfig={"destination": {"s3Destination": {"s3Uri": "s3://aud/spring/"}}, "roleArn": ROLE},
        minMatchingSeedSize=1000,
    )
    return {"audienceModels": [model["audienceModelArn"]], "configuredAudienceModels": [model]}


# ----- start banner ---------------------------------------------------------------------------


def test_banner_prints_the_environment_then_the_listening_line(tmp_path: Path, emulator_process: StartProcess) -> None:
    process = emulator_process("--seed", str(_seed_file(tmp_path, make_seed(1))), "--region", "eu-west-1", env=_env())

    assert re.fullmatch(r"cam-gitops emulator listening on http://127\.0\.0\.1:\d+", process.banner[-1])
    assert process.exports == {
        "AWS_ENDPOINT_URL": process.url,
        "AWS_ACCESS_KEY_ID": "cam-gitops-emulator",
        "AWS_SECRET_ACCESS_KEY": "cam-gitops-emulator-secret",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    assert "account 123456789012" in process.banner[0]
    # The lines before the listening line are shell: comments, unset and export.
    assert all(line.startswith(("#", "unset ", "export ")) for line in process.banner[:-1])
    assert _client(process, "sts").get_caller_identity()["Account"] == "123456789012"

    process.process.send_signal(signal.SIGTERM)
    assert process.process.wait(timeout=15) == 0


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_following_the_banner_in_a_fresh_shell_makes_plan_work(tmp_path: Path, emulator_process: StartProcess) -> None:
    seed = _account_seed()
    process = emulator_process("--seed", str(_seed_file(tmp_path, seed)), env=_env())
    assert f"account {SEED_ACCOUNT}" in process.banner[0]  # the seed's one account, no flag needed

    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "policy.yaml").write_text(yaml.safe_dump({"rules": {"allowed-regions": ["us-east-1"]}}))
    live = seed["configuredAudienceModels"][0]
    wanted = {k: v for k, v in live.items() if k not in ("name",)}
    (root / "models" / "spring.yaml").write_text(yaml.safe_dump(wanted, sort_keys=False))
    (tmp_path / "emulator.env").write_text("\n".join(process.banner[:-1]) + "\n")
    home = tmp_path / "home"
    home.mkdir()

    # A shell with nothing but PATH and HOME (no ~/.aws there), then what the banner says.
    script = f". {tmp_path / 'emulator.env'} && cd {root} && {CAM_GITOPS} plan"
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "NoCredentials" not in output and "credentials are for" not in output
    assert "Plan: 0 to update, 1 unchanged, 0 errors." in result.stdout, output


def test_account_flag_names_the_dummy_credentials_account(tmp_path: Path, emulator_process: StartProcess) -> None:
    process = emulator_process("--account", "444455556666", env=_env())
    assert "account 444455556666" in process.banner[0]
    assert _client(process, "sts").get_caller_identity()["Account"] == "444455556666"
    client = _client(process, "cleanroomsml")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_audience_model(audienceModelArn=audience_model_arn(account="444455556666"))


def test_moto_account_id_names_the_default_account_only(emulator_process: StartProcess) -> None:
    # Scripts that set MOTO_ACCOUNT_ID keep their account, and assumed roles still act as theirs.
    process = emulator_process(env=_env() | {"MOTO_ACCOUNT_ID": SEED_ACCOUNT})
    assert f"account {SEED_ACCOUNT}" in process.banner[0]
    sts = _client(process, "sts")
    assert sts.get_caller_identity()["Account"] == SEED_ACCOUNT
    credentials = sts.assume_role(RoleArn="arn:aws:iam::210987654321:role/r", RoleSessionName="cam")["Credentials"]
    assumed = _client(
        process,
        "sts",
        key=credentials["AccessKeyId"],
        secret=credentials["SecretAccessKey"],
        token=credentials["SessionToken"],
    )
    assert assumed.get_caller_identity()["Account"] == "210987654321"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--account", "12345"], "not an AWS account id"),
        (["--account", "1234567890123"], "not an AWS account id"),
        (["--region", "moon"], "not an AWS region"),
    ],
)
def test_bad_account_or_region_is_a_usage_error(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(cli_main, args)
    assert result.exit_code == 2
    assert fragment in result.output


# ----- missing extra ------------------------------------------------------------------------

BLOCK_WERKZEUG = textwrap.dedent(
    """
    import runpy, sys

    class Block:
        # As if werkzeug were not installed: the emulator extra is missing.
        def find_spec(self, name, path=None, target=None):
            if name == "werkzeug" or name.startswith("werkzeug."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    sys.argv = ["python -m cam_gitops.emulator", "--port", "0"]
    runpy.run_module("cam_gitops.emulator", run_name="__main__", alter_sys=True)
    """
)


def test_missing_extra_names_the_module_and_the_install_command() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_WERKZEUG], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "'werkzeug'" in lines[0]
    assert "pip install 'cam-gitops[emulator]'" in lines[0]
    assert "Traceback" not in result.stderr


def test_help_works_without_the_extra() -> None:
    script = BLOCK_WERKZEUG.replace('"--port", "0"', '"--help"')
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pip install 'cam-gitops[emulator]'" in result.stdout


# ----- seeds and other options ----------------------------------------------------------------


def test_cli_bad_seed_exits_2(tmp_path: Path) -> None:
    seed_path = tmp_path / "bad-seed.yaml"
    seed_path.write_text(yaml.safe_dump(make_seed(1, sharedAudienceMetrics=["SOMETIMES"])))
    result = subprocess.run(
        [sys.executable, "-m", "cam_gitops.emulator", "--seed", str(seed_path)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(seed_path) in lines[0]
    assert "sharedAudienceMetrics" in lines[0]
    assert result.stdout == ""


def test_cli_seed_with_a_resource_policy(tmp_path: Path, emulator_process: StartProcess) -> None:
    seed = make_seed(1, tags={"team": "ads"})
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "444455556666"}}]}
    seed["configuredAudienceModels"][0]["resourcePolicy"] = policy
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    process = emulator_process("--seed", str(path), env=_env())
    client = _client(process, "cleanroomsml")
    got = client.get_configured_audience_model_policy(configuredAudienceModelArn=cam_arn("cam-0"))
    assert json.loads(got["configuredAudienceModelPolicy"]) == policy
    assert client.get_configured_audience_model(configuredAudienceModelArn=cam_arn("cam-0"))["tags"] == {"team": "ads"}


def test_cli_missing_seed_and_remote_host() -> None:
    runner = CliRunner()
    missing = runner.invoke(cli_main, ["--seed", "/nonexistent/seed.yaml"])
    assert missing.exit_code == 2
    assert "/nonexistent/seed.yaml" in missing.output
    remote = runner.invoke(cli_main, ["--host", "0.0.0.0"])
    assert remote.exit_code == 2
    assert "--allow-remote" in remote.output


def test_cli_help_documents_every_flag() -> None:
    result = CliRunner().invoke(cli_main, ["--help"])
    assert result.exit_code == 0
    for flag in (
        "--port",
        "--host",
        "--account",
        "--region",
        "--seed",
        "--latency-ms",
        "--throttle-rate",
        "--error-rate",
        "--conflict-arn",
        "--drop-rate",
        "--fault-seed",
        "--allow-remote",
        "configuredAudienceModels",
        "audienceModels",
        "resourcePolicy",
        "tags",
    ):
        assert flag in result.output
