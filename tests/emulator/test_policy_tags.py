"""Resource policies with hash-based concurrency, and tags as the service constrains them."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from emulator_fixtures import cam_arn, cam_request, make_seed

from cam_gitops.emulator import EmulatorServer, SeedError

Start = Callable[..., EmulatorServer]
ARN = cam_arn("cam-0")


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def policy(*accounts: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": list(accounts)}, "Action": "cleanrooms-ml:Get*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def client(seeded_emulator: Start, make_client: Callable[..., Any]) -> Any:
    seeded_emulator(seed=make_seed(1))
    return make_client()


@pytest.fixture
def lax(seeded_emulator: Start, make_client: Callable[..., Any]) -> Any:
    """No client-side parameter checks: the emulator validates."""
    seeded_emulator(seed=make_seed(1))
    return make_client(parameter_validation=False)


# ----- resource policy ---------------------------------------------------------------------


def test_policy_lifecycle(client: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        client.get_configured_audience_model_policy(configuredAudienceModelArn=ARN)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)

    text = policy("111122223333")
    put = client.put_configured_audience_model_policy(
        configuredAudienceModelArn=ARN,
        configuredAudienceModelPolicy=text,
        policyExistenceCondition="POLICY_MUST_NOT_EXIST",
    )
    assert put["configuredAudienceModelPolicy"] == text
    assert put["policyHash"] == hashlib.sha256(text.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", put["policyHash"])
    got = client.get_configured_audience_model_policy(configuredAudienceModelArn=ARN)
    assert (got["configuredAudienceModelArn"], got["configuredAudienceModelPolicy"], got["policyHash"]) == (
        ARN,
        text,
        put["policyHash"],
    )

    changed = policy("111122223333", "444455556666")
    second = client.put_configured_audience_model_policy(
        configuredAudienceModelArn=ARN,
        configuredAudienceModelPolicy=changed,
        previousPolicyHash=put["policyHash"],
        policyExistenceCondition="POLICY_MUST_EXIST",
    )
    assert second["policyHash"] != put["policyHash"]
    assert (
        client.get_configured_audience_model_policy(configuredAudienceModelArn=ARN)["configuredAudienceModelPolicy"]
        == changed
    )

    client.delete_configured_audience_model_policy(configuredAudienceModelArn=ARN)
    for call in (client.get_configured_audience_model_policy, client.delete_configured_audience_model_policy):
        with pytest.raises(ClientError) as excinfo:
            call(configuredAudienceModelArn=ARN)
        assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    # The model itself is untouched by its policy's removal.
    assert client.get_configured_audience_model(configuredAudienceModelArn=ARN)["name"] == "cam-0"


def test_a_concurrent_change_is_detected(seeded_emulator: Start, make_client: Callable[..., Any]) -> None:
    server = seeded_emulator(seed=make_seed(1))
    first, second = make_client(), make_client()
    first.put_configured_audience_model_policy(
        configuredAudienceModelArn=ARN, configuredAudienceModelPolicy=policy("1" * 12)
    )
    read_hash = second.get_configured_audience_model_policy(configuredAudienceModelArn=ARN)["policyHash"]

    # Someone else changes the policy between second's read and write.
    first.put_configured_audience_model_policy(
        configuredAudienceModelArn=ARN, configuredAudienceModelPolicy=policy("2" * 12)
    )
    with pytest.raises(ClientError) as excinfo:
        second.put_configured_audience_model_policy(
            configuredAudienceModelArn=ARN, configuredAudienceModelPolicy=policy("3" * 12), previousPolicyHash=read_hash
        )

    assert error_of(excinfo) == ("ValidationException", 400)
    assert "previousPolicyHash" in str(excinfo.value)
    assert server.store.policy(ARN) == policy("2" * 12)


@pytest.mark.parametrize(
    ("existing", "arguments", "fragment"),
    [
        (True, {"policyExistenceCondition": "POLICY_MUST_NOT_EXIST"}, "POLICY_MUST_NOT_EXIST"),
        (False, {"policyExistenceCondition": "POLICY_MUST_EXIST"}, "POLICY_MUST_EXIST"),
        (True, {"previousPolicyHash": "0" * 64}, "previousPolicyHash"),
        (False, {"previousPolicyHash": "0" * 64}, "previousPolicyHash"),
    ],
)
def test_failed_conditions_change_nothing(
    seeded_emulator: Start, make_client: Callable[..., Any], existing: bool, arguments: dict[str, str], fragment: str
) -> None:
    server = seeded_emulator(seed=make_seed(1))
    if existing:
        server.store.set_policy(ARN, policy("1" * 12))
    before = server.store.policy(ARN)
    with pytest.raises(ClientError) as excinfo:
        make_client().put_configured_audience_model_policy(
            configuredAudienceModelArn=ARN, configuredAudienceModelPolicy=policy("9" * 12), **arguments
        )
    assert error_of(excinfo) == ("ValidationException", 400)
    assert fragment in str(excinfo.value)
    assert server.store.policy(ARN) == before


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"configuredAudienceModelPolicy": "not json"}, "not valid JSON"),
        ({"configuredAudienceModelPolicy": '{"Version": "2012-10-17"}'}, "Statement"),
        ({"configuredAudienceModelPolicy": ""}, "'configuredAudienceModelPolicy'"),
        ({"configuredAudienceModelPolicy": policy("1" * 12), "previousPolicyHash": "abc"}, "'previousPolicyHash'"),
        ({"configuredAudienceModelPolicy": policy("1" * 12), "policyExistenceCondition": "MAYBE"}, "enum"),
    ],
)
def test_put_policy_validation(lax: Any, arguments: dict[str, str], fragment: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        lax.put_configured_audience_model_policy(configuredAudienceModelArn=ARN, **arguments)
    assert error_of(excinfo) == ("ValidationException", 400)
    assert fragment in str(excinfo.value)


def test_policy_of_a_missing_model_and_of_a_deleted_one(
    seeded_emulator: Start, make_client: Callable[..., Any]
) -> None:
    server = seeded_emulator(seed=make_seed(1))
    client = make_client()
    with pytest.raises(ClientError) as excinfo:
        client.put_configured_audience_model_policy(
            configuredAudienceModelArn=cam_arn("missing"), configuredAudienceModelPolicy=policy("1" * 12)
        )
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    server.store.set_policy(ARN, policy("1" * 12))
    client.delete_configured_audience_model(configuredAudienceModelArn=ARN)
    assert server.store.policy(ARN) is None


def test_policy_operations_are_logged(seeded_emulator: Start, make_client: Callable[..., Any]) -> None:
    server = seeded_emulator(seed=make_seed(1))
    client = make_client()
    client.put_configured_audience_model_policy(
        configuredAudienceModelArn=ARN, configuredAudienceModelPolicy=policy("1" * 12)
    )
    client.get_configured_audience_model_policy(configuredAudienceModelArn=ARN)
    client.delete_configured_audience_model_policy(configuredAudienceModelArn=ARN)
    with pytest.raises(ClientError):
        client.get_configured_audience_model_policy(configuredAudienceModelArn=ARN)

    assert server.requests == [
        ("cleanrooms-ml", "PutConfiguredAudienceModelPolicy", ARN, 200),
        ("cleanrooms-ml", "GetConfiguredAudienceModelPolicy", ARN, 200),
        ("cleanrooms-ml", "DeleteConfiguredAudienceModelPolicy", ARN, 200),
        ("cleanrooms-ml", "GetConfiguredAudienceModelPolicy", ARN, 404),
    ]
    with urllib.request.urlopen(f"{server.url}/_emulator/requests", timeout=10) as response:
        counts = json.loads(response.read())
    assert counts["operations"]["cleanrooms-ml:GetConfiguredAudienceModelPolicy"] == 2


# ----- tags ---------------------------------------------------------------------------------


def test_get_returns_the_models_tags(seeded_emulator: Start, make_client: Callable[..., Any]) -> None:
    seeded_emulator(seed=make_seed(1, tags={"team": "ads", "aws:cloudformation:stack-name": "s"}))
    client = make_client()
    assert client.get_configured_audience_model(configuredAudienceModelArn=ARN)["tags"] == {
        "team": "ads",
        "aws:cloudformation:stack-name": "s",
    }
    client.tag_resource(resourceArn=ARN, tags={"owner": "growth", "team": "media"})
    client.untag_resource(resourceArn=ARN, tagKeys=["owner"])
    got = client.get_configured_audience_model(configuredAudienceModelArn=ARN)
    assert got["tags"] == client.list_tags_for_resource(resourceArn=ARN)["tags"]
    assert got["tags"] == {"team": "media", "aws:cloudformation:stack-name": "s"}
    # A value may start with aws: (only keys are reserved).
    client.tag_resource(resourceArn=ARN, tags={"source": "aws:import"})


@pytest.mark.parametrize("key", ["aws:team", "AWS:team", "Aws:x"])
def test_reserved_prefix_is_refused(seeded_emulator: Start, make_client: Callable[..., Any], key: str) -> None:
    server = seeded_emulator(seed=make_seed(1, tags={key: "set by AWS"}))
    client = make_client()
    attempts = (
        lambda: client.tag_resource(resourceArn=ARN, tags={key: "v"}),
        lambda: client.untag_resource(resourceArn=ARN, tagKeys=[key]),
        lambda: client.create_configured_audience_model(**cam_request(tags={key: "v"})),
    )
    for attempt in attempts:
        with pytest.raises(ClientError) as excinfo:
            attempt()
        assert error_of(excinfo) == ("ValidationException", 400)
        assert key in str(excinfo.value) and "reserved" in str(excinfo.value)
    assert server.store.tags(ARN) == {key: "set by AWS"}
    assert len(server.store) == 1


def test_tag_limits(seeded_emulator: Start, make_client: Callable[..., Any]) -> None:
    seeded_emulator(seed=make_seed(1, tags={"aws:system": "not counted"}))
    client = make_client()
    lax = make_client(parameter_validation=False)
    client.tag_resource(resourceArn=ARN, tags={f"k{i}": "v" for i in range(50)})
    with pytest.raises(ClientError) as excinfo:
        client.tag_resource(resourceArn=ARN, tags={"one-more": "v"})
    assert error_of(excinfo) == ("ValidationException", 400)
    assert "at most 50 tags" in str(excinfo.value)
    client.tag_resource(resourceArn=ARN, tags={"k0": "replacing a value adds no tag"})

    for tags, fragment in (({"k" * 129: "v"}, "length less than or equal to 128"), ({"k": "v" * 257}, "256")):
        with pytest.raises(ClientError) as excinfo:
            lax.tag_resource(resourceArn=cam_arn("cam-0"), tags=tags)
        assert error_of(excinfo) == ("ValidationException", 400)
        assert fragment in str(excinfo.value)


# ----- seeds ----------------------------------------------------------------------------------


def test_seeded_resource_policy_as_mapping_or_text(seeded_emulator: Start, make_client: Callable[..., Any]) -> None:
    seed = make_seed(2)
    # YAML reads an unquoted 2012-10-17 as a date; the policy keeps it as the string IAM expects.
    seed["configuredAudienceModels"][0]["resourcePolicy"] = yaml.safe_load(
        "{Version: 2012-10-17, Statement: [{Effect: Allow, Principal: '*', Action: '*'}]}"
    )
    seed["configuredAudienceModels"][1]["resourcePolicy"] = policy("1" * 12)
    seeded_emulator(seed=seed)
    client = make_client()
    first = client.get_configured_audience_model_policy(configuredAudienceModelArn=cam_arn("cam-0"))
    assert json.loads(first["configuredAudienceModelPolicy"])["Version"] == "2012-10-17"
    second = client.get_configured_audience_model_policy(configuredAudienceModelArn=cam_arn("cam-1"))
    assert second["configuredAudienceModelPolicy"] == policy("1" * 12)
    assert "resourcePolicy" not in client.get_configured_audience_model(configuredAudienceModelArn=cam_arn("cam-1"))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("{not json", "not valid JSON"), (42, "JSON string or a mapping"), ({"Version": "2012-10-17"}, "Statement")],
)
def test_bad_seeded_resource_policy(value: Any, fragment: str) -> None:
    seed = make_seed(1)
    seed["configuredAudienceModels"][0]["resourcePolicy"] = value
    with pytest.raises(SeedError, match=re.escape(fragment)) as excinfo:
        EmulatorServer(seed=seed)
    assert "configuredAudienceModels[0].resourcePolicy" in str(excinfo.value)
