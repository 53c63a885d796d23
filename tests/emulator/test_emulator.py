"""The CleanRoomsML emulator, exercised through real boto3 clients over HTTP."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
import yaml
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from emulator_fixtures import (
    ACCOUNT_ID,
    AUDIENCE_MODEL_ARN,
    ROLE_ARN,
    cam_arn,
    cam_request,
    make_seed,
)

from cam_gitops.emulator import EmulatorServer, Faults, RequestRecord, SeedError

REPO = Path(__file__).resolve().parents[2]
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a ClientError."""
    response: dict[str, Any] = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


@pytest.fixture
def lax_client(emulator: EmulatorServer, make_client: Callable[..., Any]) -> Any:
    """A client without botocore's own parameter checks, so the server validates."""
    return make_client(parameter_validation=False)


# ----- CRUD ---------------------------------------------------------------------------------


def test_create_get_round_trip(emulator: EmulatorServer, cleanroomsml_client: Any) -> None:
    arn = cleanroomsml_client.create_configured_audience_model(
        **cam_request(description="first", tags={"team": "ads"})
    )["configuredAudienceModelArn"]

    assert re.fullmatch(
        rf"arn:aws:cleanrooms-ml:us-east-1:{ACCOUNT_ID}:configured-audience-model/[0-9a-f-]{{36}}",
        arn,
    )
    got = cleanroomsml_client.get_configured_audience_model(configuredAudienceModelArn=arn)
    assert got["name"] == "cam-test"
    assert got["status"] == "ACTIVE"
    assert got["minMatchingSeedSize"] == 500
    assert got["createTime"] == got["updateTime"]
    assert got["description"] == "first"
    assert got["tags"] == {"team": "ads"}
    assert got["outputConfig"]["roleArn"] == ROLE_ARN
    stored = emulator.store.get(arn)
    assert stored is not None and stored["name"] == "cam-test"


def test_list_paginates_with_max_results(
    seeded_emulator: Callable[..., EmulatorServer], make_client: Callable[..., Any]
) -> None:
    seeded_emulator(seed=make_seed(5))
    client = make_client()

    first = client.list_configured_audience_models(maxResults=2)
    assert [m["name"] for m in first["configuredAudienceModels"]] == ["cam-0", "cam-1"]
    second = client.list_configured_audience_models(maxResults=2, nextToken=first["nextToken"])
    assert [m["name"] for m in second["configuredAudienceModels"]] == ["cam-2", "cam-3"]
    third = client.list_configured_audience_models(maxResults=2, nextToken=second["nextToken"])
    assert [m["name"] for m in third["configuredAudienceModels"]] == ["cam-4"]
    assert "nextToken" not in third

    pages = client.get_paginator("list_configured_audience_models").paginate(PaginationConfig={"PageSize": 2})
    names = [m["name"] for page in pages for m in page["configuredAudienceModels"]]
    assert names == [f"cam-{i}" for i in range(5)]
    # Summaries carry only the summary shape's members.
    assert "sharedAudienceMetrics" not in first["configuredAudienceModels"][0]


def test_list_rejects_a_forged_token(cleanroomsml_client: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        cleanroomsml_client.list_configured_audience_models(nextToken="not-a-token")
    assert error_of(excinfo)[0] == "ValidationException"


def test_update_has_patch_semantics(
    seeded_emulator: Callable[..., EmulatorServer], make_client: Callable[..., Any]
) -> None:
    seeded_emulator(seed=make_seed(1, description="before", minMatchingSeedSize=1000))
    client = make_client()
    arn = cam_arn("cam-0")
    before = client.get_configured_audience_model(configuredAudienceModelArn=arn)

    client.update_configured_audience_model(configuredAudienceModelArn=arn, description="after")
    middle = client.get_configured_audience_model(configuredAudienceModelArn=arn)
    client.update_configured_audience_model(configuredAudienceModelArn=arn, minMatchingSeedSize=30)
    after = client.get_configured_audience_model(configuredAudienceModelArn=arn)

    assert middle["description"] == "after"
    assert middle["minMatchingSeedSize"] == 1000
    assert after["minMatchingSeedSize"] == 30
    assert after["description"] == "after"
    for key in ("name", "outputConfig", "sharedAudienceMetrics", "audienceModelArn", "createTime"):
        assert after[key] == before[key]
    assert before["updateTime"] < middle["updateTime"] < after["updateTime"]


def test_delete_then_not_found(emulator: EmulatorServer, cleanroomsml_client: Any) -> None:
    arn = cleanroomsml_client.create_configured_audience_model(**cam_request())["configuredAudienceModelArn"]
    cleanroomsml_client.delete_configured_audience_model(configuredAudienceModelArn=arn)
    assert emulator.store.get(arn) is None
    with pytest.raises(ClientError) as excinfo:
        cleanroomsml_client.delete_configured_audience_model(configuredAudienceModelArn=arn)
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)


def test_get_audience_model(cleanroomsml_client: Any) -> None:
    got = cleanroomsml_client.get_audience_model(audienceModelArn=AUDIENCE_MODEL_ARN)
    assert got["audienceModelArn"] == AUDIENCE_MODEL_ARN
    assert got["status"] == "ACTIVE"


# ----- errors -------------------------------------------------------------------------------


def test_unknown_configured_audience_model(cleanroomsml_client: Any) -> None:
    for call in (
        cleanroomsml_client.get_configured_audience_model,
        cleanroomsml_client.delete_configured_audience_model,
    ):
        with pytest.raises(ClientError) as excinfo:
            call(configuredAudienceModelArn=cam_arn("missing"))
        code, message, status = error_of(excinfo)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert cam_arn("missing") in message


def test_unknown_audience_model_arn(
    seeded_emulator: Callable[..., EmulatorServer], make_client: Callable[..., Any]
) -> None:
    seeded_emulator(seed=make_seed(1))
    client = make_client()
    other = AUDIENCE_MODEL_ARN.replace("am-default", "am-unknown")
    with pytest.raises(ClientError) as excinfo:
        client.create_configured_audience_model(**cam_request(audienceModelArn=other))
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        client.update_configured_audience_model(configuredAudienceModelArn=cam_arn("cam-0"), audienceModelArn=other)
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        client.get_audience_model(audienceModelArn=other)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("overrides", "field", "constraint"),
    [
        ({"minMatchingSeedSize": 10}, "minMatchingSeedSize", "greater than or equal to 25"),
        ({"minMatchingSeedSize": 600000}, "minMatchingSeedSize", "less than or equal to 500000"),
        ({"minMatchingSeedSize": "many"}, "minMatchingSeedSize", "must be an integer"),
        ({"sharedAudienceMetrics": ["SOME"]}, "sharedAudienceMetrics.1.member", "enum value set"),
        ({"sharedAudienceMetrics": ["ALL", "NONE"]}, "sharedAudienceMetrics", "length less than"),
        ({"name": None}, "name", "must not be null"),
        ({"name": "n" * 64}, "name", "length less than or equal to 63"),
        ({"name": "   "}, "name", "regular expression pattern"),
        (
            {
                "outputConfig": {
                    "destination": {"s3Destination": {"s3Uri": "s3://b/"}},
                    "roleArn": "arn:aws:iam::12:user/not-a-role",
                }
            },
            "outputConfig.roleArn",
            "regular expression pattern",
        ),
        (
            {"outputConfig": {"roleArn": ROLE_ARN}},
            "outputConfig.destination",
            "must not be null",
        ),
        (
            {"audienceSizeConfig": {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": []}},
            "audienceSizeConfig.audienceSizeBins",
            "length greater than or equal to 1",
        ),
        (
            {"audienceSizeConfig": {"audienceSizeType": "HUGE", "audienceSizeBins": [0]}},
            "audienceSizeConfig.audienceSizeType",
            "enum value set",
        ),
        ({"tags": {"": "empty key"}}, "tags.1.member.key", "length greater than or equal to 1"),
    ],
)
def test_create_validation(lax_client: Any, overrides: dict[str, Any], field: str, constraint: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        lax_client.create_configured_audience_model(**cam_request(**overrides))
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert f"at '{field}'" in message
    assert constraint in message
    assert message.startswith(("1 validation error detected: ", "2 validation errors detected: "))


@pytest.mark.parametrize("s3_uri", ["x-s3://b/", "s3://b/\n"])
def test_patterns_match_the_whole_value(lax_client: Any, s3_uri: str) -> None:
    # The service validates the whole value, as the project's schema does (a prefix before
    # "s3://" or a trailing line break is refused), although botocore writes no anchors.
    output = {"destination": {"s3Destination": {"s3Uri": s3_uri}}, "roleArn": ROLE_ARN}
    with pytest.raises(ClientError) as excinfo:
        lax_client.create_configured_audience_model(**cam_request(outputConfig=output))
    code, message, _ = error_of(excinfo)
    assert code == "ValidationException"
    assert "s3Uri" in message


@pytest.mark.parametrize("max_results", [0, 101])
def test_list_max_results_range(lax_client: Any, max_results: int) -> None:
    with pytest.raises(ClientError) as excinfo:
        lax_client.list_configured_audience_models(maxResults=max_results)
    code, message, _ = error_of(excinfo)
    assert code == "ValidationException"
    assert "'maxResults'" in message


def test_update_validation_and_bad_arn(lax_client: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        lax_client.update_configured_audience_model(configuredAudienceModelArn=cam_arn("cam-x"), minMatchingSeedSize=1)
    assert "at 'minMatchingSeedSize'" in error_of(excinfo)[1]
    with pytest.raises(ClientError) as excinfo:
        lax_client.get_configured_audience_model(configuredAudienceModelArn="arn:aws:s3:::not-cam-at-all")
    code, message, _ = error_of(excinfo)
    assert code == "ValidationException"
    assert "at 'configuredAudienceModelArn'" in message


def test_wire_format(emulator: EmulatorServer, cleanroomsml_client: Any) -> None:
    arn = cleanroomsml_client.create_configured_audience_model(**cam_request())["configuredAudienceModelArn"]
    # The emulator routes on the SigV4 scope but does not verify signatures.
    auth = (
        "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/cleanrooms-ml/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    connection = http.client.HTTPConnection("127.0.0.1", int(emulator.url.rsplit(":", 1)[1]), timeout=10)
    encoded = arn.replace(":", "%3A").replace("/", "%2F")
    connection.request("GET", f"/configured-audience-model/{encoded}", headers={"Authorization": auth})
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("x-amzn-RequestId")
    assert ISO_MS.match(body["createTime"])

    connection.request("GET", "/configured-audience-model/nope", headers={"Authorization": auth})
    response = connection.getresponse()
    assert response.status == 400
    assert response.getheader("x-amzn-ErrorType") == "ValidationException"
    assert "message" in json.loads(response.read())
    connection.close()


# ----- tags ---------------------------------------------------------------------------------


def test_tags(seeded_emulator: Callable[..., EmulatorServer], make_client: Callable[..., Any]) -> None:
    seeded_emulator(seed=make_seed(1, tags={"a": "1"}))
    client = make_client()
    arn = cam_arn("cam-0")
    client.tag_resource(resourceArn=arn, tags={"b": "2", "c": "3"})
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"a": "1", "b": "2", "c": "3"}
    client.untag_resource(resourceArn=arn, tagKeys=["a", "c", "absent"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    assert client.get_configured_audience_model(configuredAudienceModelArn=arn)["tags"] == {"b": "2"}
    with pytest.raises(ClientError) as excinfo:
        client.list_tags_for_resource(resourceArn=cam_arn("missing"))
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


# ----- other services through the same endpoint ---------------------------------------------


def test_sts_answers_the_moto_account(
    emulator: EmulatorServer,
    make_client: Callable[..., Any],
    cleanroomsml_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sts = make_client("sts")
    assert sts.get_caller_identity()["Account"] == ACCOUNT_ID
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    assert sts.get_caller_identity()["Account"] == "111122223333"
    arn = cleanroomsml_client.create_configured_audience_model(**cam_request())["configuredAudienceModelArn"]
    assert ":111122223333:configured-audience-model/" in arn
    assert RequestRecord("sts", "GetCallerIdentity", None, 200) in emulator.requests


def test_request_log(emulator: EmulatorServer, cleanroomsml_client: Any) -> None:
    arn = cleanroomsml_client.create_configured_audience_model(**cam_request())["configuredAudienceModelArn"]
    cleanroomsml_client.update_configured_audience_model(configuredAudienceModelArn=arn, description="d")
    with pytest.raises(ClientError):
        cleanroomsml_client.get_configured_audience_model(configuredAudienceModelArn=cam_arn("gone"))
    assert emulator.requests == [
        ("cleanrooms-ml", "CreateConfiguredAudienceModel", arn, 200),
        ("cleanrooms-ml", "UpdateConfiguredAudienceModel", arn, 200),
        ("cleanrooms-ml", "GetConfiguredAudienceModel", cam_arn("gone"), 404),
    ]
    emulator.clear_requests()
    assert emulator.requests == []


def test_concurrent_clients(emulator: EmulatorServer, make_client: Callable[..., Any]) -> None:
    client = make_client(max_pool_connections=32)

    def create_and_get(index: int) -> str:
        arn: str = client.create_configured_audience_model(**cam_request(name=f"c-{index}"))[
            "configuredAudienceModelArn"
        ]
        client.update_configured_audience_model(configuredAudienceModelArn=arn, description="x")
        return arn

    with ThreadPoolExecutor(max_workers=32) as pool:
        arns = list(pool.map(create_and_get, range(64)))
    assert len(set(arns)) == 64
    assert len(emulator.store) == 64
    assert all(r.status_code == 200 for r in emulator.requests)


# ----- faults -------------------------------------------------------------------------------


def test_throttle_without_retries(emulator: EmulatorServer, cleanroomsml_client: Any) -> None:
    emulator.faults.throttle_rate = 1.0
    with pytest.raises(ClientError) as excinfo:
        cleanroomsml_client.list_configured_audience_models()
    assert error_of(excinfo)[::2] == ("ThrottlingException", 429)


def test_throttle_with_standard_retries_eventually_succeeds(
    seeded_emulator: Callable[..., EmulatorServer],
    make_client: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Keep botocore's real retry decisions but skip its backoff sleeps.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    server = seeded_emulator(seed=make_seed(1), faults=Faults(throttle_rate=0.5, seed=7))
    client = make_client(total_max_attempts=10)
    for _ in range(10):
        client.get_configured_audience_model(configuredAudienceModelArn=cam_arn("cam-0"))
    statuses = [r.status_code for r in server.requests]
    assert 429 in statuses
    assert statuses.count(200) == 10


def test_error_rate_answers_500(emulator: EmulatorServer, cleanroomsml_client: Any) -> None:
    emulator.faults.error_rate = 1.0
    with pytest.raises(ClientError) as excinfo:
        cleanroomsml_client.list_configured_audience_models()
    code, _, status = error_of(excinfo)
    assert (code, status) == ("InternalServiceException", 500)


def test_conflict_arns(seeded_emulator: Callable[..., EmulatorServer], make_client: Callable[..., Any]) -> None:
    arn = cam_arn("cam-0")
    seeded_emulator(seed=make_seed(1), faults=Faults(conflict_arns={arn}))
    client = make_client()
    for call, kwargs in (
        (client.update_configured_audience_model, {"description": "x"}),
        (client.delete_configured_audience_model, {}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(configuredAudienceModelArn=arn, **kwargs)
        assert error_of(excinfo)[::2] == ("ConflictException", 409)
    client.get_configured_audience_model(configuredAudienceModelArn=arn)


def test_drop_gives_a_connection_error(emulator: EmulatorServer, cleanroomsml_client: Any) -> None:
    emulator.faults.drop_rate = 1.0
    with pytest.raises((botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError)):
        cleanroomsml_client.list_configured_audience_models()
    assert {r.status_code for r in emulator.requests} == {0}


def test_latency_still_serves(emulator: EmulatorServer, cleanroomsml_client: Any) -> None:
    emulator.faults.latency_ms = 1
    assert cleanroomsml_client.list_configured_audience_models()["configuredAudienceModels"] == []


def test_scripted_faults(seeded_emulator: Callable[..., EmulatorServer], make_client: Callable[..., Any]) -> None:
    server = seeded_emulator(seed=make_seed(2))
    client = make_client()
    arn, other = cam_arn("cam-0"), cam_arn("cam-1")
    server.faults.fail_next(arn, "ThrottlingException", times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as excinfo:
            client.get_configured_audience_model(configuredAudienceModelArn=arn)
        assert error_of(excinfo)[0] == "ThrottlingException"
    client.get_configured_audience_model(configuredAudienceModelArn=other)
    client.get_configured_audience_model(configuredAudienceModelArn=arn)

    server.faults.deny_arns.add(other)
    with pytest.raises(ClientError) as excinfo:
        client.get_configured_audience_model(configuredAudienceModelArn=other)
    assert error_of(excinfo)[::2] == ("AccessDeniedException", 403)

    server.faults.fail_next(None, "drop")
    with pytest.raises(botocore.exceptions.HTTPClientError):
        client.list_configured_audience_models()
    with pytest.raises(ValueError, match="unknown error code"):
        server.faults.fail_next(arn, "NoSuchError")


def test_scripted_fault_waits_for_an_operation_that_can_raise_it(
    seeded_emulator: Callable[..., EmulatorServer], make_client: Callable[..., Any]
) -> None:
    server = seeded_emulator(seed=make_seed(1))
    client = make_client()
    arn = cam_arn("cam-0")
    server.faults.fail_next(arn, "ConflictException")
    # GetConfiguredAudienceModel cannot raise ConflictException in the model: it passes.
    client.get_configured_audience_model(configuredAudienceModelArn=arn)
    with pytest.raises(ClientError) as excinfo:
        client.update_configured_audience_model(configuredAudienceModelArn=arn, description="x")
    assert error_of(excinfo)[::2] == ("ConflictException", 409)
    client.update_configured_audience_model(configuredAudienceModelArn=arn, description="x")


def test_faults_spare_other_services(emulator: EmulatorServer, make_client: Callable[..., Any]) -> None:
    emulator.faults.throttle_rate = 1.0
    emulator.faults.drop_rate = 0.0
    assert make_client("sts").get_caller_identity()["Account"] == ACCOUNT_ID


def test_fault_settings_are_checked() -> None:
    faults = Faults()
    with pytest.raises(ValueError):
        faults.throttle_rate = 1.5
    with pytest.raises(ValueError):
        Faults(drop_rate=-0.1)


def test_compatibility_aliases(emulator: EmulatorServer) -> None:
    assert Faults(fault_seed=5).seed == 5
    assert RequestRecord("s", "Op", None, 429).status == 429
    assert emulator.store.list() == emulator.store.models() == []


def test_same_fault_seed_same_faults() -> None:
    first, second = Faults(error_rate=0.5, seed=3), Faults(error_rate=0.5, seed=3)
    decisions = [(first.decide("X", None), second.decide("X", None)) for _ in range(50)]
    assert all(a == b for a, b in decisions)
    assert any(a is not None for a, _ in decisions)


# ----- seeds and server setup ---------------------------------------------------------------


def test_seed_file_yaml(
    seeded_emulator: Callable[..., EmulatorServer], make_client: Callable[..., Any], tmp_path: Path
) -> None:
    seed = make_seed(2, createTime="2024-01-02T03:04:05Z")
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    seeded_emulator(seed_path=path)
    got = make_client().get_configured_audience_model(configuredAudienceModelArn=cam_arn("cam-1"))
    assert got["createTime"].year == 2024
    assert got["updateTime"] > got["createTime"]


@pytest.mark.parametrize(
    ("seed", "fragment"),
    [
        (make_seed(1, minMatchingSeedSize=3), "'minMatchingSeedSize'"),
        ({"audienceModels": ["not-an-arn"]}, "audienceModels[0]"),
        ({"models": []}, "unknown key"),
        (
            {"configuredAudienceModels": [make_seed(1)["configuredAudienceModels"][0]] * 2},
            "duplicate",
        ),
    ],
)
def test_bad_seed_raises(seed: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SeedError, match=re.escape(fragment)):
        EmulatorServer(seed=seed)


def test_refuses_remote_host() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        EmulatorServer(host="0.0.0.0")
