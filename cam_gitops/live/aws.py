"""The one narrow adapter between cam-gitops and AWS (boto3). Nothing else imports boto3.

Retries of throttling, 5xx and dropped connections are botocore's own (standard or adaptive
mode, with jitter); only ConflictException, which botocore does not retry, gets a few extra
attempts in the applier.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

SERVICE = "cleanroomsml"
# botocore's endpoint data has no region list of its own for Clean Rooms ML (it is part of
# AWS Clean Rooms, with the same regions); the parent service's list stands in for it.
REGION_SOURCES = (SERVICE, "cleanrooms")
USER_AGENT = "cam-gitops"


@dataclass(frozen=True)
class RetrySettings:
    """botocore retry settings for every client the tool makes."""

    mode: str = "standard"
    max_attempts: int = 8
    max_pool_connections: int = 16


class AwsError(Exception):
    """An AWS call failed: the error code and message as AWS gave them."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _translate(exc: Exception) -> AwsError:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return AwsError(str(err.get("Code", "Unknown")), str(err.get("Message", "")), status)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return AwsError(
            "NoCredentials",
            "no AWS credentials found; configure a profile, environment variables or an OIDC role",
        )
    if isinstance(exc, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        return AwsError("ConnectionError", f"{type(exc).__name__}: {exc}")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AwsError(type(exc).__name__, str(exc))
    raise exc


def call(function: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a boto3 client method, turning every AWS-side failure into AwsError."""
    try:
        return function(**kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _translate(exc) from None


class CleanRoomsML:
    """CleanRoomsML and STS calls for one AWS identity; clients are made once per region.

    botocore clients are thread-safe, sessions are not: clients are created under a lock
    and then shared by the worker threads.
    """

    def __init__(self, session: boto3.Session, retries: RetrySettings) -> None:
        self._session = session
        self._retries = retries
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _client(self, service: str, region: str | None) -> Any:
        key = (service, region or "")
        with self._lock:
            if key not in self._clients:
                config = Config(
                    retries={"mode": self._retries.mode, "total_max_attempts": self._retries.max_attempts},
                    max_pool_connections=self._retries.max_pool_connections,
                    user_agent_extra=USER_AGENT,
                )
                self._clients[key] = self._session.client(service, region_name=region, config=config)
            return self._clients[key]

    def caller_account(self) -> str:
        """The account of the credentials in use (STS GetCallerIdentity)."""
        region = self._session.region_name or "us-east-1"
        identity = call(self._client("sts", region).get_caller_identity)
        return str(identity["Account"])

    def get_model(self, arn: str, region: str) -> dict[str, Any]:
        """GetConfiguredAudienceModel, without response metadata."""
        response = call(self._client(SERVICE, region).get_configured_audience_model, configuredAudienceModelArn=arn)
        response.pop("ResponseMetadata", None)
        return dict(response)

    def update_model(self, arn: str, region: str, fields: dict[str, Any]) -> None:
        """UpdateConfiguredAudienceModel with exactly the given fields (PATCH)."""
        call(self._client(SERVICE, region).update_configured_audience_model, configuredAudienceModelArn=arn, **fields)

    def list_models(self, region: str) -> Iterator[dict[str, Any]]:
        """Every configured audience model summary in a region (ListConfiguredAudienceModels, all pages)."""
        client = self._client(SERVICE, region)
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"maxResults": 100}
            if token:
                kwargs["nextToken"] = token
            page = call(client.list_configured_audience_models, **kwargs)
            yield from page.get("configuredAudienceModels", [])
            token = page.get("nextToken")
            if not token:
                return

    def default_region(self) -> str | None:
        """The configured default region: AWS_REGION, else the session's (AWS_DEFAULT_REGION, the profile)."""
        return os.environ.get("AWS_REGION") or self._session.region_name or None

    def service_regions(self) -> tuple[list[str], str]:
        """The regions where the service has an endpoint, from botocore's endpoint data, in the
        partition of the default region; and the botocore service name whose data said so."""
        region = self.default_region() or "us-east-1"
        try:
            partition = self._session.get_partition_for_region(region)
        except (botocore.exceptions.BotoCoreError, ValueError):
            partition = "aws"
        for service in REGION_SOURCES:
            regions = self._session.get_available_regions(service, partition_name=partition)
            if regions:
                return sorted(regions), service
        return [], SERVICE

    def assume(self, role_arn: str) -> CleanRoomsML:
        """The same adapter for the identity of an assumed role (STS AssumeRole)."""
        region = self._session.region_name or "us-east-1"
        response = call(self._client("sts", region).assume_role, RoleArn=role_arn, RoleSessionName="cam-gitops-apply")
        credentials = response["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        return CleanRoomsML(session, self._retries)


def make_session() -> boto3.Session:
    """A boto3 session from the usual chain (env, profile, SSO, web identity). AWS_REGION wins
    over AWS_DEFAULT_REGION and the profile, as in the AWS CLI v2 and the other SDKs (botocore
    alone ignores it), so a CI job's region setting is the region everywhere."""
    region = os.environ.get("AWS_REGION")
    return boto3.Session(region_name=region) if region else boto3.Session()
