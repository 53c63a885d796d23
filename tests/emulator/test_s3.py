"""S3 through the emulator's endpoint (moto's S3), as boto3 sends it to a custom endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from cam_gitops.emulator import EmulatorServer


def round_trip(s3: Any) -> tuple[bytes, list[str]]:
    """CreateBucket, PutObject, GetObject, ListObjectsV2: what an audit upload needs."""
    bucket = f"cam-audit-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="runs/2024/abc.jsonl", Body=b'{"result": "applied"}\n')
    s3.put_object(Bucket=bucket, Key="other/x", Body=b"")
    body = s3.get_object(Bucket=bucket, Key="runs/2024/abc.jsonl")["Body"].read()
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="runs/")["Contents"]]
    return body, keys


EXPECTED_LOG = [
    ("s3", "CreateBucket"),
    ("s3", "PutObject"),
    ("s3", "PutObject"),
    ("s3", "GetObject"),
    ("s3", "ListObjectsV2"),
]


def test_path_style_as_boto3_sends_it_to_the_endpoint(
    emulator: EmulatorServer, make_client: Callable[..., Any]
) -> None:
    s3 = make_client("s3")
    sent: list[str] = []
    s3.meta.events.register("before-send.s3.*", lambda request, **_: sent.append(request.url))

    assert round_trip(s3) == (b'{"result": "applied"}\n', ["runs/2024/abc.jsonl"])
    assert all(url.startswith(f"{emulator.url}/cam-audit-") for url in sent)  # the bucket is in the path
    assert [(r.service, r.operation) for r in emulator.requests] == EXPECTED_LOG
    assert {r.status_code for r in emulator.requests} == {200}


@pytest.mark.parametrize("host", ["localhost", "s3.localhost.localstack.cloud"])
def test_virtual_hosted_style(emulator: EmulatorServer, make_client: Callable[..., Any], host: str) -> None:
    # bucket.<host> need not resolve: the emulator is the HTTP proxy, so boto3 sends it every request.
    s3 = make_client(
        "s3",
        endpoint_url=f"http://{host}:{emulator.port}",
        s3={"addressing_style": "virtual"},
        proxies={"http": emulator.url},
    )
    sent: list[str] = []
    s3.meta.events.register("before-send.s3.*", lambda request, **_: sent.append(request.url))

    assert round_trip(s3) == (b'{"result": "applied"}\n', ["runs/2024/abc.jsonl"])
    assert all(url.startswith("http://cam-audit-") for url in sent)  # the bucket is in the host
    assert [(r.service, r.operation) for r in emulator.requests] == EXPECTED_LOG


def test_objects_are_shared_between_addressing_styles(
    emulator: EmulatorServer, make_client: Callable[..., Any]
) -> None:
    path_style = make_client("s3")
    virtual = make_client(
        "s3",
        endpoint_url=f"http://localhost:{emulator.port}",
        s3={"addressing_style": "virtual"},
        proxies={"http": emulator.url},
    )
    path_style.create_bucket(Bucket="shared-bucket")
    path_style.put_object(Bucket="shared-bucket", Key="k", Body=b"v")
    assert virtual.get_object(Bucket="shared-bucket", Key="k")["Body"].read() == b"v"
