"""Pytest plugin: a live CleanRoomsML emulator and boto3 clients pointed at it.

Loaded from ``tests/conftest.py`` via ``pytest_plugins = ["emulator_fixtures"]``.
Every fixture isolates the AWS environment, so no real credentials or config
files are ever read.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from cam_gitops.emulator import EmulatorServer, Faults

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
AUDIENCE_MODEL_ARN = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT_ID}:audience-model/am-default"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/cam-output"
S3_URI = "s3://cam-output-bucket/audiences/"


def cam_arn(name: str, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    """A configured audience model ARN with a readable id."""
    return f"arn:aws:cleanrooms-ml:{region}:{account}:configured-audience-model/{name}"


def audience_model_arn(name: str = "am-default", region: str = REGION, account: str = ACCOUNT_ID) -> str:
    """An audience model ARN with a readable id (``AUDIENCE_MODEL_ARN`` by default)."""
    return f"arn:aws:cleanrooms-ml:{region}:{account}:audience-model/{name}"


def cam_request(**overrides: Any) -> dict[str, Any]:
    """Valid CreateConfiguredAudienceModel kwargs; ``overrides`` replace members.

    An override of ``None`` removes the member (to test missing required ones).
    """
    request: dict[str, Any] = {
        "name": "cam-test",
        "audienceModelArn": AUDIENCE_MODEL_ARN,
        "outputConfig": {"destination": {"s3Destination": {"s3Uri": S3_URI}}, "roleArn": ROLE_ARN},
        "sharedAudienceMetrics": ["ALL"],
    }
    request.update(overrides)
    return {key: value for key, value in request.items() if value is not None}


def make_seed(
    count: int = 0,
    *,
    audience_models: tuple[str, ...] = (AUDIENCE_MODEL_ARN,),
    prefix: str = "cam",
    **fields: Any,
) -> dict[str, Any]:
    """A seed mapping with ``count`` configured audience models named ``{prefix}-{i}``.

    ARNs are ``cam_arn(f"{prefix}-{i}")``; ``fields`` override members of every record.
    """
    records = []
    for index in range(count):
        name = f"{prefix}-{index}"
        record = cam_request(name=name, configuredAudienceModelArn=cam_arn(name))
        record.update(fields)
        records.append(record)
    return {"audienceModels": list(audience_models), "configuredAudienceModels": records}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no profile, config or credentials file is read."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "MOTO_ACCOUNT_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def seeded_emulator(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., EmulatorServer]]:
    """Factory: ``seeded_emulator(seed=None, faults=None, seed_path=None, account=None)`` -> started server.

    The last server started becomes ``AWS_ENDPOINT_URL``; all are stopped at teardown.
    """
    servers: list[EmulatorServer] = []

    def start(
        seed: Mapping[str, Any] | None = None,
        faults: Faults | None = None,
        seed_path: str | Path | None = None,
        account: str | None = None,
    ) -> EmulatorServer:
        server = EmulatorServer(port=0, seed=seed, seed_path=seed_path, faults=faults or Faults(), account=account)
        servers.append(server)
        server.start()
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def emulator(seeded_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    """A started emulator knowing ``AUDIENCE_MODEL_ARN`` and no configured models."""
    return seeded_emulator(seed=make_seed())


@pytest.fixture
def make_client(aws_env: None) -> Callable[..., Any]:
    """Factory: ``make_client(service, total_max_attempts=1, region_name=REGION, endpoint_url=None, **config)``.

    ``service`` defaults to ``"cleanroomsml"``.

    ``total_max_attempts`` counts the first attempt, so 1 means no retry at
    all (botocore's ``max_attempts`` key counts retries only: 1 = two tries).
    ``config`` goes to botocore's ``Config``. Call it after the server started
    (the endpoint is read from ``AWS_ENDPOINT_URL``).
    """

    def build(
        service: str = "cleanroomsml",
        total_max_attempts: int = 1,
        region_name: str = REGION,
        endpoint_url: str | None = None,
        **config: Any,
    ) -> Any:
        retries = {"mode": "standard", "total_max_attempts": total_max_attempts}
        return boto3.client(
            service, region_name=region_name, endpoint_url=endpoint_url, config=Config(retries=retries, **config)
        )

    return build


@pytest.fixture
def cleanroomsml_client(emulator: EmulatorServer, make_client: Callable[..., Any]) -> Any:
    """A CleanRoomsML client for ``emulator`` with standard retries but a single attempt."""
    return make_client()


@pytest.fixture
def assume_role(make_client: Callable[..., Any]) -> Callable[..., boto3.Session]:
    """Factory: ``assume_role(account, region=REGION)`` -> a boto3 Session acting as that account.

    Calls STS AssumeRole through the emulator (``AWS_ENDPOINT_URL``) for
    ``arn:aws:iam::{account}:role/cam-test``; moto issues the credentials and
    the emulator answers that account for them, CleanRoomsML included.
    """

    def assume(account: str, region: str = REGION) -> boto3.Session:
        role = f"arn:aws:iam::{account}:role/cam-test"
        credentials = make_client("sts").assume_role(RoleArn=role, RoleSessionName="cam-test")["Credentials"]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )

    return assume


@dataclass
class EmulatorProcess:
    """``python -m cam_gitops.emulator`` running as a subprocess, and what it printed on start."""

    process: subprocess.Popen[bytes]
    banner: list[str]

    @property
    def url(self) -> str:
        """The URL of the ``... listening on URL`` line."""
        return next(line for line in self.banner if "listening on" in line).split()[-1]

    @property
    def exports(self) -> dict[str, str]:
        """The ``export NAME=VALUE`` lines of the banner."""
        pairs = (line.removeprefix("export ").split("=", 1) for line in self.banner if line.startswith("export "))
        return {name: value for name, value in pairs}


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any AWS_ or MOTO_ variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update(extra)
    return env


@pytest.fixture
def emulator_process() -> Iterator[Callable[..., EmulatorProcess]]:
    """Factory: ``emulator_process(*args, python=sys.executable, env=None, executable=None)`` ->
    started subprocess.

    Runs ``python -m cam_gitops.emulator --port 0 *args`` (or ``executable --port 0 *args``, an
    installed ``cam-gitops-emulator``) and waits for its
    ``listening on`` line; fails the test with the output if it exits first.
    ``env`` defaults to :func:`clean_env`. Every process is stopped with
    SIGTERM (then killed) at teardown.
    """
    started: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:

        def start(
            *args: str,
            python: str = sys.executable,
            env: Mapping[str, str] | None = None,
            executable: str | None = None,
        ) -> EmulatorProcess:
            program = [executable] if executable is not None else [python, "-m", "cam_gitops.emulator"]
            command: Sequence[str] = [*program, "--port", "0", *args]
            # A file, not a pipe: nobody reads stderr while the emulator serves, so a pipe could fill up.
            errors = stack.enter_context(tempfile.TemporaryFile(mode="w+"))
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=dict(env) if env is not None else clean_env(),
            )
            started.append(process)
            assert process.stdout is not None
            # Raw reads: a buffered readline could hold the last line while select() waits for more.
            output = b""
            while b"listening on" not in output.rpartition(b"\n")[0]:
                ready, _, _ = select.select([process.stdout], [], [], 60)
                chunk = os.read(process.stdout.fileno(), 65536) if ready else b""
                if not chunk:
                    process.kill()
                    process.wait()
                    errors.seek(0)
                    pytest.fail(f"emulator did not start: {' '.join(command)}\n{output.decode()}{errors.read()}")
                output += chunk
            banner = output.decode().rpartition("\n")[0].splitlines()
            return EmulatorProcess(process, banner)

        yield start
        for process in started:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
