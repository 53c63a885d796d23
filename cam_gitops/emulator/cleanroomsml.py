"""The CleanRoomsML rest-json protocol: request parsing, dispatch and responses.

Routing, input members (uri/querystring/body), constraints, output shapes,
timestamp formats and error status codes all come from botocore's model, so
the wire format is exactly what botocore serialises and parses. Every ARN a
request names is checked against the caller's region and account first
(:mod:`.access`), as a regional endpoint of the service does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from .access import check_reachable
from .errors import NotFound, ServiceError
from .faults import Faults
from .model import Route, ServiceModel
from .store import InvalidToken, Store
from .validation import ValidationFailure, to_datetime, validate_or_raise

StartResponse = Callable[..., Any]
WSGIEnviron = dict[str, Any]
#: (operation or None, ARN or None, HTTP status; 0 for a dropped connection)
Recorder = Callable[[str | None, str | None, int], None]

#: What each ARN path label names, for ResourceNotFoundException messages.
_ARN_KINDS = {
    "configuredAudienceModelArn": "Configured audience model",
    "audienceModelArn": "Audience model",
    "resourceArn": "Resource",
}

__all__ = ["CallContext", "CleanRoomsMLService", "ServiceError"]


class DroppedConnection(ConnectionAbortedError):
    """Raised after the socket was shut down; werkzeug then writes nothing."""


@dataclass(frozen=True)
class CallContext:
    """Who is calling: the SigV4 scope's region, and the account moto answers for the credentials."""

    region: str
    account: str


@dataclass
class Reply:
    """A response ready for WSGI: status, JSON body and error code (if any)."""

    status: int
    body: dict[str, Any]
    error_code: str | None = None


def read_body(environ: WSGIEnviron) -> bytes:
    """Read the whole request body (Content-Length or chunked)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


def raw_path_segments(environ: WSGIEnviron) -> list[str]:
    """Path segments, each percent-decoded on its own.

    botocore percent-encodes ``/`` inside non-greedy labels (ARNs), and
    PATH_INFO is already decoded, so the raw request URI must be split first.
    """
    raw = str(environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO", ""))
    path = raw.split("?", 1)[0]
    if "://" in path:  # absolute-form request target
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    # The environ holds latin-1 decoded bytes (PEP 3333); undo that before decoding UTF-8.
    return [unquote(part.encode("latin-1").decode("utf-8", "replace")) for part in path.strip("/").split("/") if part]


class CleanRoomsMLService:
    """WSGI handler for requests signed for ``cleanrooms-ml``."""

    def __init__(self, model: ServiceModel, store: Store, faults: Faults) -> None:
        self.model = model
        self.store = store
        self.faults = faults
        self._handlers: dict[str, Callable[[dict[str, Any], CallContext], Reply]] = {
            "CreateConfiguredAudienceModel": self._create,
            "GetConfiguredAudienceModel": self._get,
            "ListConfiguredAudienceModels": self._list,
            "UpdateConfiguredAudienceModel": self._update,
            "DeleteConfiguredAudienceModel": self._delete,
            "GetAudienceModel": self._get_audience_model,
            "TagResource": self._tag,
            "UntagResource": self._untag,
            "ListTagsForResource": self._list_tags,
            "GetConfiguredAudienceModelPolicy": self._get_policy,
            "PutConfiguredAudienceModelPolicy": self._put_policy,
            "DeleteConfiguredAudienceModelPolicy": self._delete_policy,
        }

    def __call__(
        self,
        environ: WSGIEnviron,
        start_response: StartResponse,
        context: CallContext,
        record: Recorder,
    ) -> Iterable[bytes]:
        """Serve one request and record ``(operation, arn, status)``."""
        body = read_body(environ)
        match = self.model.match(environ["REQUEST_METHOD"].upper(), raw_path_segments(environ))
        if match is None:
            reply = _error_reply(self.model, ServiceError("UnknownOperationException", "Unknown operation", 404))
            record(None, None, reply.status)
            return _send(start_response, reply)
        route, labels = match
        arn = next(iter(labels.values()), None)
        if self.faults.latency_ms > 0:
            time.sleep(self.faults.latency_ms / 1000.0)
        fault = self.faults.decide(route.operation, arn)
        if fault is not None and fault.drop:
            record(route.operation, arn, 0)
            _drop(environ)
        if fault is not None:
            reply = _error_reply(self.model, ServiceError(fault.code, fault.message))
        else:
            reply = self._serve(route, labels, environ, body, context)
        record(route.operation, _logged_arn(arn, reply), reply.status)
        return _send(start_response, reply)

    def _serve(
        self,
        route: Route,
        labels: dict[str, str],
        environ: WSGIEnviron,
        body: bytes,
        context: CallContext,
    ) -> Reply:
        try:
            params = self._parse_input(route, labels, environ, body)
            if route.input_shape is not None:
                validate_or_raise(self.model, route.input_shape, params)
            self._check_reachable(route, params, context)
            reply = self._handlers[route.operation](params, context)
        except ValidationFailure as exc:
            return _error_reply(self.model, ServiceError("ValidationException", str(exc)))
        except NotFound as exc:
            return _error_reply(self.model, ServiceError("ResourceNotFoundException", str(exc)))
        except InvalidToken:
            return _error_reply(self.model, ServiceError("ValidationException", "Invalid nextToken"))
        except ServiceError as exc:
            return _error_reply(self.model, exc)
        if route.output_shape is not None:
            reply.body = serialize(self.model, route.output_shape, reply.body)
        reply.status = route.response_code
        return reply

    def _parse_input(self, route: Route, labels: dict[str, str], environ: WSGIEnviron, body: bytes) -> dict[str, Any]:
        if route.input_shape is None:
            return {}
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise ServiceError("SerializationException", f"Malformed JSON body: {exc}", 400) from exc
        if not isinstance(payload, dict):
            raise ServiceError("SerializationException", "Request body must be a JSON object", 400)
        query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        params: dict[str, Any] = {}
        for name, member in self.model.shape(route.input_shape)["members"].items():
            value = self._member_value(member, labels, query, payload, environ, name)
            if value is not None:
                params[name] = value
        return params

    def _member_value(
        self,
        member: dict[str, Any],
        labels: dict[str, str],
        query: dict[str, list[str]],
        payload: dict[str, Any],
        environ: WSGIEnviron,
        name: str,
    ) -> Any:
        location = member.get("location")
        wire_name = member.get("locationName", name)
        if location == "uri":
            return labels.get(wire_name)
        if location == "header":
            return environ.get("HTTP_" + wire_name.upper().replace("-", "_"))
        if location == "querystring":
            values = query.get(wire_name)
            if values is None:
                return None
            return _coerce_query(self.model.shape(member["shape"]), values)
        return payload.get(name)

    def _check_reachable(self, route: Route, params: dict[str, Any], context: CallContext) -> None:
        """Region and account boundaries for the resource the request path names.

        An audience model named in a Create/Update body is checked for existence
        only: the service documents no rule for one in another region or account.
        """
        for label in route.labels:
            arn = params.get(label)
            if isinstance(arn, str):
                # A configured audience model's own policy may grant other accounts access.
                policy = self.store.policy(arn) if label == "configuredAudienceModelArn" else None
                check_reachable(
                    _ARN_KINDS.get(label, "Resource"), arn, context.region, context.account, route.operation, policy
                )

    # ----- operations ------------------------------------------------------------------

    def _create(self, params: dict[str, Any], context: CallContext) -> Reply:
        arn = self.store.create(params, context.region, context.account)
        return Reply(200, {"configuredAudienceModelArn": arn})

    def _get(self, params: dict[str, Any], context: CallContext) -> Reply:
        return Reply(200, self.store.describe(params["configuredAudienceModelArn"]))

    def _list(self, params: dict[str, Any], context: CallContext) -> Reply:
        items, token = self.store.page(
            params.get("maxResults"), params.get("nextToken"), region=context.region, account=context.account
        )
        body: dict[str, Any] = {"configuredAudienceModels": items}
        if token is not None:
            body["nextToken"] = token
        return Reply(200, body)

    def _update(self, params: dict[str, Any], context: CallContext) -> Reply:
        arn = params.pop("configuredAudienceModelArn")
        self.store.update(arn, params)
        return Reply(200, {"configuredAudienceModelArn": arn})

    def _delete(self, params: dict[str, Any], context: CallContext) -> Reply:
        self.store.remove(params["configuredAudienceModelArn"])
        return Reply(200, {})

    def _get_audience_model(self, params: dict[str, Any], context: CallContext) -> Reply:
        return Reply(200, self.store.describe_audience_model(params["audienceModelArn"]))

    def _tag(self, params: dict[str, Any], context: CallContext) -> Reply:
        self.store.tag(params["resourceArn"], params["tags"])
        return Reply(200, {})

    def _untag(self, params: dict[str, Any], context: CallContext) -> Reply:
        self.store.untag(params["resourceArn"], list(params["tagKeys"]))
        return Reply(200, {})

    def _list_tags(self, params: dict[str, Any], context: CallContext) -> Reply:
        return Reply(200, {"tags": self.store.tags(params["resourceArn"])})

    def _get_policy(self, params: dict[str, Any], context: CallContext) -> Reply:
        arn = params["configuredAudienceModelArn"]
        policy, policy_hash = self.store.get_policy(arn)
        body = {"configuredAudienceModelArn": arn, "configuredAudienceModelPolicy": policy, "policyHash": policy_hash}
        return Reply(200, body)

    def _put_policy(self, params: dict[str, Any], context: CallContext) -> Reply:
        policy = params["configuredAudienceModelPolicy"]
        policy_hash = self.store.put_policy(
            params["configuredAudienceModelArn"],
            policy,
            params.get("previousPolicyHash"),
            params.get("policyExistenceCondition"),
        )
        return Reply(200, {"configuredAudienceModelPolicy": policy, "policyHash": policy_hash})

    def _delete_policy(self, params: dict[str, Any], context: CallContext) -> Reply:
        self.store.delete_policy(params["configuredAudienceModelArn"])
        return Reply(200, {})


def _coerce_query(shape: dict[str, Any], values: list[str]) -> Any:
    if shape["type"] == "list":
        return values
    value = values[-1]
    if shape["type"] in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            # Leave it a string: validation then reports the field as not an integer.
            return value
    return value


def _logged_arn(arn: str | None, reply: Reply) -> str | None:
    # Create has no ARN in its path; log the one it minted.
    if arn is None and reply.error_code is None:
        created = reply.body.get("configuredAudienceModelArn")
        return created if isinstance(created, str) else None
    return arn


def _drop(environ: WSGIEnviron) -> None:
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    raise DroppedConnection("connection dropped by fault injection")


def _error_reply(model: ServiceModel, error: ServiceError) -> Reply:
    status = error.status or model.error_status(error.code) or 400
    return Reply(status, {"message": error.message}, error.code)


def _send(start_response: StartResponse, reply: Reply) -> list[bytes]:
    payload = json.dumps(reply.body, separators=(",", ":")).encode("utf-8")
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(payload))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    if reply.error_code is not None:
        headers.append(("x-amzn-ErrorType", reply.error_code))
    start_response(f"{reply.status} {_REASONS.get(reply.status, 'Error')}", headers)
    return [payload]


_REASONS = {
    200: "OK",
    400: "Bad Request",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def serialize(model: ServiceModel, shape_name: str, value: Any) -> Any:
    """Render ``value`` for the wire according to shape ``shape_name``."""
    shape = model.shape(shape_name)
    kind = shape["type"]
    if kind == "structure":
        members: dict[str, Any] = shape.get("members", {})
        source: Mapping[str, Any] = value
        return {
            name: serialize(model, member["shape"], source[name])
            for name, member in members.items()
            if source.get(name) is not None
        }
    if kind == "list":
        return [serialize(model, shape["member"]["shape"], item) for item in value]
    if kind == "map":
        return {key: serialize(model, shape["value"]["shape"], item) for key, item in value.items()}
    if kind == "timestamp":
        return format_timestamp(value, shape.get("timestampFormat", "unixTimestamp"))
    return value


def format_timestamp(value: Any, fmt: str) -> Any:
    """Format a timestamp as the model's ``timestampFormat`` asks."""
    stamp = to_datetime(value)
    if stamp is None:
        return value
    stamp = stamp.astimezone(dt.timezone.utc)
    if fmt == "iso8601":
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    if fmt == "rfc822":
        return stamp.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return stamp.timestamp()
