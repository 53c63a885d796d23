"""What a request is: its SigV4 credential scope and, for moto's services, its operation name."""

from __future__ import annotations

import io
import ipaddress
import re
from typing import Any, NamedTuple
from urllib.parse import parse_qs

WSGIEnviron = dict[str, Any]
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


class CredentialScope(NamedTuple):
    """The parts of a SigV4 ``Credential=`` scope the emulator needs."""

    access_key: str
    region: str
    service: str


def parse_credential_scope(authorization: str | None) -> CredentialScope | None:
    """Extract access key, region and service from a SigV4 Authorization header."""
    if not authorization or "Credential=" not in authorization:
        return None
    credential = authorization.split("Credential=", 1)[1].split(",", 1)[0].strip()
    return _scope(credential)


def request_scope(environ: WSGIEnviron) -> CredentialScope | None:
    """The SigV4 scope of a request: its Authorization header, else a presigned URL's query."""
    scope = parse_credential_scope(environ.get("HTTP_AUTHORIZATION"))
    if scope is None:
        credential = parse_qs(str(environ.get("QUERY_STRING", ""))).get("X-Amz-Credential")
        scope = _scope(credential[0]) if credential else None
    return scope


def _scope(credential: str) -> CredentialScope | None:
    parts = credential.split("/")
    if len(parts) != 5:
        return None
    access_key, _date, region, service, _terminator = parts
    return CredentialScope(access_key, region, service)


def is_loopback(host: str) -> bool:
    """True for loopback addresses and names (the only hosts served by default)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _query_action(environ: WSGIEnviron) -> str | None:
    """The ``Action`` of a query-protocol request; restores the body it reads."""
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    # moto reads the body again, so hand it a fresh stream with the same bytes.
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    actions = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return actions[0] if actions else None


_S3_OPERATIONS = {
    ("GET", 0): "ListBuckets",
    ("PUT", 1): "CreateBucket",
    ("GET", 1): "ListObjects",
    ("HEAD", 1): "HeadBucket",
    ("DELETE", 1): "DeleteBucket",
    ("PUT", 2): "PutObject",
    ("GET", 2): "GetObject",
    ("HEAD", 2): "HeadObject",
    ("DELETE", 2): "DeleteObject",
}


def _bucket_in_host(environ: WSGIEnviron) -> bool:
    """Whether an S3 request is virtual-hosted (``bucket.host``), by the rules moto's S3 applies."""
    host = str(environ.get("HTTP_HOST", "")).lower()
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    if (
        not name
        or "." not in name
        or name.startswith(("localhost", "localstack", "host.docker.internal", "["))
        or re.fullmatch(r"[0-9.]+", name)
    ):
        return False
    return not (name == "s3.amazonaws.com" or re.match(r"s3[.-](?:(?:dualstack|fips)[.-])?[^.]*\.amazonaws\.com", name))


def _s3_operation(environ: WSGIEnviron) -> str | None:
    """Best-effort S3 operation name from method, path depth and sub-resource."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "")).strip("/")
    depth = 0 if not path else (1 if "/" not in path else 2)
    if _bucket_in_host(environ):
        depth = min(depth + 1, 2)
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    flags = [key for key, values in query.items() if values == [""]]
    if depth == 1 and method == "POST" and "delete" in flags:
        return "DeleteObjects"
    if flags and depth:
        target = "Bucket" if depth == 1 else "Object"
        return f"{method.capitalize()}{target}{flags[0][:1].upper()}{flags[0][1:]}"
    if (method, depth) == ("GET", 1) and query.get("list-type") == ["2"]:
        return "ListObjectsV2"
    return _S3_OPERATIONS.get((method, depth))


def moto_operation(environ: WSGIEnviron, service: str) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    if service == "s3":
        return _s3_operation(environ)
    return _query_action(environ)
