"""Pytest plugin: a live CleanRoomsML emulator and boto3 clients pointed at it.

Loaded from ``tests/conftest.py`` via ``pytest_plugins = ["emulator_fixtures"]``.
Every fixture isolates the AWS environment, so no real credentials or config
files are ever read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
    """Factory: ``seeded_emulator(seed=None, faults=None, seed_path=None)`` -> started server.

    The last server started becomes ``AWS_ENDPOINT_URL``; all are stopped at teardown.
    """
    servers: list[EmulatorServer] = []

    def start(
        seed: Mapping[str, Any] | None = None,
        faults: Faults | None = None,
        seed_path: str | Path | None = None,
    ) -> EmulatorServer:
        server = EmulatorServer(port=0, seed=seed, seed_path=seed_path, faults=faults or Faults())
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
    """Factory: ``make_client(service, total_max_attempts=1, region_name=REGION, **config)``.

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
        **config: Any,
    ) -> Any:
        retries = {"mode": "standard", "total_max_attempts": total_max_attempts}
        return boto3.client(service, region_name=region_name, config=Config(retries=retries, **config))

    return build


@pytest.fixture
def cleanroomsml_client(emulator: EmulatorServer, make_client: Callable[..., Any]) -> Any:
    """A CleanRoomsML client for ``emulator`` with standard retries but a single attempt."""
    return make_client()
