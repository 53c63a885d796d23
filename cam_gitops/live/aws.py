"""The one narrow adapter between cam-gitops and AWS (boto3). Nothing else imports boto3.

Retries of throttling, 5xx and dropped connections are botocore's own (standard or adaptive
mode, with jitter); only ConflictException, which botocore does not retry, gets a few extra
attempts in the applier.

Every client has connect and read timeouts, so a silent endpoint costs at most
`worst_case_call_s` per call, and a hook that runs before each HTTP attempt (botocore's
`request-created` event, retries included) counts the attempts and refuses to start one once
the run is stopping (its deadline passed, or it was interrupted).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config

SERVICE = "cleanroomsml"
# botocore's endpoint data has no region list of its own for Clean Rooms ML (it is part of
# AWS Clean Rooms, with the same regions); the parent service's list stands in for it.
REGION_SOURCES = (SERVICE, "cleanrooms")
USER_AGENT = "cam-gitops"
STOPPED = "Stopped"  # the code of AwsError for a call the stopping run did not send

# botocore's standard and adaptive modes wait rand(0, 1) * min(0.05 * 2**i, 20) seconds before
# retry i+1 of an error that is not throttling (a timeout, a dropped connection, a 5xx).
_BACKOFF_SCALE_S = 0.05
_BACKOFF_CAP_S = 20.0


@dataclass(frozen=True)
class RetrySettings:
    """botocore retry and timeout settings for every client the tool makes."""

    mode: str = "standard"
    max_attempts: int = 8
    max_pool_connections: int = 16
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0

    def config(self) -> Config:
        """The botocore client configuration."""
        return Config(
            retries={"mode": self.mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
            max_pool_connections=self.max_pool_connections,
            user_agent_extra=USER_AGENT,
        )


def worst_case_call_s(settings: RetrySettings) -> float:
    """The longest one call can take against an endpoint that never answers: every attempt
    waits out its connect and read timeouts, with botocore's largest backoff between them."""
    attempts = settings.max_attempts
    backoff = sum(min(_BACKOFF_SCALE_S * 2.0**i, _BACKOFF_CAP_S) for i in range(attempts - 1))
    return float(attempts * (settings.connect_timeout_s + settings.read_timeout_s) + backoff)


class AwsError(Exception):
    """An AWS call failed: the error code and message as AWS gave them.

    `attempts` counts the HTTP attempts the call made (botocore's retries included);
    `outcome_unknown` says a request may have reached AWS without its answer reaching us.
    """

    def __init__(
        self, code: str, message: str, status: int | None = None, attempts: int = 0, outcome_unknown: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.attempts = attempts
        self.outcome_unknown = outcome_unknown


class Stopped(AwsError):
    """A call (or its next retry) was not started because the run is stopping.

    `sent` says an earlier attempt of the same call had already been sent."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(STOPPED, f"not sent: {reason}", attempts=attempts, outcome_unknown=attempts > 0)
        self.reason = reason
        self.sent = attempts > 0


class _NotStarted(botocore.exceptions.BotoCoreError):  # type: ignore[misc]
    fmt = "{reason}"


# The attempt number of the call in progress on this thread: botocore makes every attempt of a
# call on the calling thread, and the request-created hook sees each one.
_attempts = threading.local()


def _attempt_count() -> int:
    return int(getattr(_attempts, "count", 0))


def _operation(function: Callable[..., Any]) -> str:
    """`STS GetCallerIdentity`: the service and operation a client method calls."""
    meta = getattr(getattr(function, "__self__", None), "meta", None)
    service_id = str(getattr(getattr(meta, "service_model", None), "service_id", "") or "AWS")
    name = getattr(function, "__name__", "")
    return f"{service_id} {getattr(meta, 'method_to_api_mapping', {}).get(name, name)}".strip()


def _endpoint(function: Callable[..., Any]) -> tuple[str, str]:
    """The endpoint a client method talks to, and where that endpoint came from."""
    client = getattr(function, "__self__", None)
    meta = getattr(client, "meta", None)
    url = str(getattr(meta, "endpoint_url", "") or "")
    service_id = str(getattr(getattr(meta, "service_model", None), "service_id", "") or "")
    names = (f"AWS_ENDPOINT_URL_{service_id.upper().replace(' ', '_')}", "AWS_ENDPOINT_URL")
    origin = None
    for name in names:
        if url and os.environ.get(name, "").rstrip("/") == url.rstrip("/"):
            origin = f"set by {name}"
            break
    region = str(getattr(meta, "region_name", "") or "")
    parts = urlsplit(url)
    if "@" in parts.netloc:  # never print credentials embedded in a URL
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return url, origin or f"the endpoint of {service_id or 'the service'} in {region or 'the default region'}"


def _connection_error(exc: Exception, function: Callable[..., Any], attempts: int, settings: RetrySettings) -> AwsError:
    """A call that got no answer: name the endpoint, its origin, and what to check."""
    url, origin = _endpoint(function)
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    operation = _operation(function)
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        what = f"{operation}: no answer from {url} ({origin}) within the read timeout of "
        what += f"{settings.read_timeout_s:g} s, {tries}"
        code = "Timeout"
    elif isinstance(exc, botocore.exceptions.ConnectTimeoutError):
        what = f"{operation}: could not connect to {url} ({origin}) within {settings.connect_timeout_s:g} s, {tries}"
        code = "Timeout"
    else:
        what = f"{operation}: no answer from {url} ({origin}), {tries}: {type(exc).__name__}: {exc}"
        code = "ConnectionError"
    if origin.startswith("set by"):
        hint = f"check that {origin.removeprefix('set by ')} points at a running endpoint"
    else:
        hint = "check network access to it from here (proxy, firewall, VPC endpoint, DNS)"
    hint += "; --connect-timeout, --read-timeout and --max-attempts set how long to wait"
    # A request that was sent and whose answer never came (this attempt, or an earlier one that
    # was retried) may have been carried out.
    unsent = (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.EndpointConnectionError)
    unknown = attempts > 1 or not isinstance(exc, unsent)
    return AwsError(code, f"{what}: {hint}", attempts=attempts, outcome_unknown=unknown)


def _translate(exc: Exception, function: Callable[..., Any], settings: RetrySettings) -> AwsError:
    counted = _attempt_count()
    if isinstance(exc, _NotStarted):
        return Stopped(str(exc.kwargs["reason"]), counted - 1)
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        metadata = exc.response.get("ResponseMetadata", {})
        retries = metadata.get("RetryAttempts")
        attempts = retries + 1 if isinstance(retries, int) else counted
        status = metadata.get("HTTPStatusCode")
        return AwsError(str(err.get("Code", "Unknown")), str(err.get("Message", "")), status, attempts)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return AwsError(
            "NoCredentials",
            "no AWS credentials found; configure a profile, environment variables or an OIDC role",
        )
    if isinstance(exc, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        return _connection_error(exc, function, counted, settings)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AwsError(type(exc).__name__, str(exc), attempts=counted)
    raise exc


def _call(function: Callable[..., Any], settings: RetrySettings, **kwargs: Any) -> tuple[Any, int]:
    """Call a boto3 client method: its response and the HTTP attempts it took (botocore's
    RetryAttempts plus the first); every AWS-side failure becomes AwsError."""
    _attempts.count = 0
    try:
        response = function(**kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _translate(exc, function, settings) from None
    retries = response.get("ResponseMetadata", {}).get("RetryAttempts") if isinstance(response, dict) else None
    return response, retries + 1 if isinstance(retries, int) else _attempt_count()


class CleanRoomsML:
    """CleanRoomsML and STS calls for one AWS identity; clients are made once per region.

    botocore clients are thread-safe, sessions are not: clients are created under a lock
    and then shared by the worker threads. `should_stop` (when given) says why no new HTTP
    attempt may start, or None.
    """

    def __init__(
        self,
        session: boto3.Session,
        retries: RetrySettings,
        should_stop: Callable[[], str | None] | None = None,
    ) -> None:
        self._session = session
        self._retries = retries
        self._should_stop = should_stop
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _before_attempt(self, request: Any, **_: Any) -> None:
        _attempts.count = int(getattr(request, "context", {}).get("retries", {}).get("attempt", 1))
        reason = self._should_stop() if self._should_stop is not None else None
        if reason is not None:
            raise _NotStarted(reason=reason)

    def _client(self, service: str, region: str | None) -> Any:
        key = (service, region or "")
        with self._lock:
            if key not in self._clients:
                client = self._session.client(service, region_name=region, config=self._retries.config())
                client.meta.events.register("request-created", self._before_attempt)
                self._clients[key] = client
            return self._clients[key]

    def _call(self, function: Callable[..., Any], **kwargs: Any) -> tuple[Any, int]:
        return _call(function, self._retries, **kwargs)

    def caller_account(self) -> str:
        """The account of the credentials in use (STS GetCallerIdentity)."""
        region = self._session.region_name or "us-east-1"
        identity, _ = self._call(self._client("sts", region).get_caller_identity)
        return str(identity["Account"])

    def get_model(self, arn: str, region: str) -> dict[str, Any]:
        """GetConfiguredAudienceModel, without response metadata."""
        client = self._client(SERVICE, region)
        response, _ = self._call(client.get_configured_audience_model, configuredAudienceModelArn=arn)
        response.pop("ResponseMetadata", None)
        return dict(response)

    def update_model(self, arn: str, region: str, fields: dict[str, Any]) -> int:
        """UpdateConfiguredAudienceModel with exactly the given fields (PATCH); the HTTP attempts
        it took, botocore's retries included (AwsError.attempts when it fails)."""
        client = self._client(SERVICE, region)
        _, attempts = self._call(client.update_configured_audience_model, configuredAudienceModelArn=arn, **fields)
        return attempts

    def get_policy(self, arn: str, region: str) -> tuple[str, str] | None:
        """GetConfiguredAudienceModelPolicy: (policy text, policy hash), or None when the model
        has no policy (the service answers ResourceNotFoundException)."""
        client = self._client(SERVICE, region)
        try:
            response, _ = self._call(client.get_configured_audience_model_policy, configuredAudienceModelArn=arn)
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":
                return None
            raise
        return str(response["configuredAudienceModelPolicy"]), str(response["policyHash"])

    def put_policy(self, arn: str, region: str, text: str, previous_hash: str | None) -> str:
        """PutConfiguredAudienceModelPolicy, only over the policy whose hash was read (or only when
        there was none): a concurrent change fails the call instead of being overwritten.
        Returns the new policy's hash."""
        client = self._client(SERVICE, region)
        condition: dict[str, Any] = (
            {"previousPolicyHash": previous_hash}
            if previous_hash is not None
            else {"policyExistenceCondition": "POLICY_MUST_NOT_EXIST"}
        )
        response, _ = self._call(
            client.put_configured_audience_model_policy,
            configuredAudienceModelArn=arn,
            configuredAudienceModelPolicy=text,
            **condition,
        )
        return str(response["policyHash"])

    def delete_policy(self, arn: str, region: str) -> None:
        """DeleteConfiguredAudienceModelPolicy."""
        client = self._client(SERVICE, region)
        self._call(client.delete_configured_audience_model_policy, configuredAudienceModelArn=arn)

    def tag(self, arn: str, region: str, tags: dict[str, str]) -> None:
        """TagResource: add or change these tags."""
        self._call(self._client(SERVICE, region).tag_resource, resourceArn=arn, tags=tags)

    def untag(self, arn: str, region: str, keys: list[str]) -> None:
        """UntagResource: remove these tag keys."""
        self._call(self._client(SERVICE, region).untag_resource, resourceArn=arn, tagKeys=keys)

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        """S3 PutObject that never replaces an object (If-None-Match: *)."""
        region = self.default_region() or "us-east-1"
        client = self._client("s3", region)
        self._call(client.put_object, Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")

    def list_models(self, region: str) -> Iterator[dict[str, Any]]:
        """Every configured audience model summary in a region (ListConfiguredAudienceModels, all pages)."""
        client = self._client(SERVICE, region)
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"maxResults": 100}
            if token:
                kwargs["nextToken"] = token
            page, _ = self._call(client.list_configured_audience_models, **kwargs)
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
        sts = self._client("sts", region)
        response, _ = self._call(sts.assume_role, RoleArn=role_arn, RoleSessionName="cam-gitops-apply")
        credentials = response["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        return CleanRoomsML(session, self._retries, self._should_stop)


def make_session(retries: RetrySettings | None = None) -> boto3.Session:
    """A boto3 session from the usual chain (env, profile, SSO, web identity).

    The timeouts also apply to the clients botocore makes on its own to fetch credentials
    (STS AssumeRoleWithWebIdentity in CI, SSO), through the session's default client config.
    AWS_REGION wins over AWS_DEFAULT_REGION and the profile, as in the AWS CLI v2 and the other
    SDKs (botocore alone ignores it), so a CI job's region setting is the region everywhere.
    """
    core = botocore.session.get_session()
    core.set_default_client_config((retries or RetrySettings()).config())
    region = os.environ.get("AWS_REGION")
    return boto3.Session(botocore_session=core, region_name=region) if region else boto3.Session(botocore_session=core)
