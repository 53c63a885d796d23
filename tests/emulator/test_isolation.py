"""Region and account boundaries, as a regional Clean Rooms ML endpoint draws them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator_fixtures import ACCOUNT_ID, AUDIENCE_MODEL_ARN, REGION, cam_arn, cam_request, make_seed

from cam_gitops.emulator import EmulatorServer

OTHER = "210987654321"
WEST = "eu-west-1"
Start = Callable[..., EmulatorServer]
ClientFactory = Callable[..., Any]
AssumeRole = Callable[..., boto3.Session]

# Four models: (region, account) of each, named after where they live.
PLACES = {
    "east-mine": (REGION, ACCOUNT_ID),
    "west-mine": (WEST, ACCOUNT_ID),
    "east-other": (REGION, OTHER),
    "west-other": (WEST, OTHER),
}


def four_places_seed() -> dict[str, Any]:
    records = [
        cam_request(name=name, configuredAudienceModelArn=cam_arn(name, region, account))
        for name, (region, account) in PLACES.items()
    ]
    return {"audienceModels": [AUDIENCE_MODEL_ARN], "configuredAudienceModels": records}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def listed_names(client: Any, page_size: int = 100) -> list[str]:
    pages = client.get_paginator("list_configured_audience_models").paginate(PaginationConfig={"PageSize": page_size})
    return [model["name"] for page in pages for model in page["configuredAudienceModels"]]


POLICY_TEXT = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*"}]})

# Every operation on one configured audience model ARN, with the arguments it needs besides the ARN.
ARN_OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("get_configured_audience_model", "configuredAudienceModelArn", {}),
    ("update_configured_audience_model", "configuredAudienceModelArn", {"description": "changed"}),
    ("delete_configured_audience_model", "configuredAudienceModelArn", {}),
    ("tag_resource", "resourceArn", {"tags": {"team": "x"}}),
    ("untag_resource", "resourceArn", {"tagKeys": ["team"]}),
    ("list_tags_for_resource", "resourceArn", {}),
    ("get_configured_audience_model_policy", "configuredAudienceModelArn", {}),
    (
        "put_configured_audience_model_policy",
        "configuredAudienceModelArn",
        {"configuredAudienceModelPolicy": POLICY_TEXT},
    ),
    ("delete_configured_audience_model_policy", "configuredAudienceModelArn", {}),
]


def call(client: Any, operation: str, member: str, arn: str, extra: dict[str, Any]) -> Any:
    return getattr(client, operation)(**{member: arn}, **extra)


# ----- listing ------------------------------------------------------------------------------


def test_list_shows_only_the_callers_region_and_account(
    seeded_emulator: Start, make_client: ClientFactory, assume_role: AssumeRole
) -> None:
    server = seeded_emulator(seed=four_places_seed())
    assert server.account == ACCOUNT_ID  # the seed names two accounts: the default one

    assert listed_names(make_client()) == ["east-mine"]
    assert listed_names(make_client(region_name=WEST)) == ["west-mine"]
    assert listed_names(make_client(region_name="ap-south-1")) == []
    other_east = assume_role(OTHER).client("cleanroomsml")
    other_west = assume_role(OTHER, region=WEST).client("cleanroomsml")
    assert listed_names(other_east) == ["east-other"]
    assert listed_names(other_west) == ["west-other"]


def test_list_pages_within_the_region(seeded_emulator: Start, make_client: ClientFactory) -> None:
    seed = make_seed(3)
    west = [cam_request(name=f"w-{i}", configuredAudienceModelArn=cam_arn(f"w-{i}", WEST)) for i in range(3)]
    # Interleave regions so that every page must skip the other region's models.
    seed["configuredAudienceModels"] = [
        m for pair in zip(seed["configuredAudienceModels"], west, strict=True) for m in pair
    ]
    seeded_emulator(seed=seed)
    assert listed_names(make_client(), page_size=1) == ["cam-0", "cam-1", "cam-2"]
    assert listed_names(make_client(region_name=WEST), page_size=2) == ["w-0", "w-1", "w-2"]


# ----- one ARN, from the wrong region or account --------------------------------------------


@pytest.mark.parametrize(("operation", "member", "extra"), ARN_OPERATIONS, ids=[op for op, _, _ in ARN_OPERATIONS])
def test_an_arn_of_another_region_is_not_found(
    seeded_emulator: Start, make_client: ClientFactory, operation: str, member: str, extra: dict[str, Any]
) -> None:
    server = seeded_emulator(seed=four_places_seed())
    arn = cam_arn("west-mine", WEST)
    server.store.set_policy(arn, POLICY_TEXT)
    before = server.store.get(arn)

    with pytest.raises(ClientError) as excinfo:
        call(make_client(), operation, member, arn, extra)

    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert arn in str(excinfo.value)
    assert server.store.get(arn) == before
    assert server.store.policy(arn) == POLICY_TEXT
    # The same call in the model's own region reaches it.
    call(make_client(region_name=WEST), operation, member, arn, extra)


@pytest.mark.parametrize(("operation", "member", "extra"), ARN_OPERATIONS, ids=[op for op, _, _ in ARN_OPERATIONS])
def test_an_arn_of_another_account_is_access_denied(
    seeded_emulator: Start, make_client: ClientFactory, operation: str, member: str, extra: dict[str, Any]
) -> None:
    server = seeded_emulator(seed=four_places_seed())
    arn = cam_arn("east-other", account=OTHER)
    before = server.store.get(arn)

    with pytest.raises(ClientError) as excinfo:
        call(make_client(), operation, member, arn, extra)

    assert error_of(excinfo) == ("AccessDeniedException", 403)
    assert "no resource-based policy allows" in str(excinfo.value)
    assert server.store.get(arn) == before
    # Authorisation comes first: a model that does not exist in the other account is denied too.
    with pytest.raises(ClientError) as excinfo:
        call(make_client(), operation, member, cam_arn("missing", account=OTHER), extra)
    assert error_of(excinfo) == ("AccessDeniedException", 403)


def test_get_audience_model_follows_region_and_account(seeded_emulator: Start, make_client: ClientFactory) -> None:
    seeded_emulator(seed=make_seed())
    client = make_client()
    assert client.get_audience_model(audienceModelArn=AUDIENCE_MODEL_ARN)["audienceModelArn"] == AUDIENCE_MODEL_ARN
    with pytest.raises(ClientError) as excinfo:
        make_client(region_name=WEST).get_audience_model(audienceModelArn=AUDIENCE_MODEL_ARN)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_created_models_belong_to_the_callers_region_and_account(
    emulator: EmulatorServer, make_client: ClientFactory
) -> None:
    arn = make_client(region_name="eu-west-2").create_configured_audience_model(**cam_request())[
        "configuredAudienceModelArn"
    ]
    assert arn.startswith(f"arn:aws:cleanrooms-ml:eu-west-2:{ACCOUNT_ID}:configured-audience-model/")
    with pytest.raises(ClientError) as excinfo:
        make_client().get_configured_audience_model(configuredAudienceModelArn=arn)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


# ----- accounts -------------------------------------------------------------------------------


def test_assumed_role_credentials_act_as_the_roles_account(
    seeded_emulator: Start, make_client: ClientFactory, assume_role: AssumeRole
) -> None:
    seeded_emulator(seed=four_places_seed())
    session = assume_role(OTHER)
    assert session.client("sts").get_caller_identity()["Account"] == OTHER
    other = session.client("cleanroomsml")

    assert other.get_configured_audience_model(configuredAudienceModelArn=cam_arn("east-other", account=OTHER))
    with pytest.raises(ClientError) as excinfo:
        other.get_configured_audience_model(configuredAudienceModelArn=cam_arn("east-mine"))
    assert error_of(excinfo) == ("AccessDeniedException", 403)
    created = other.create_configured_audience_model(**cam_request())["configuredAudienceModelArn"]
    assert f":{OTHER}:configured-audience-model/" in created
    # The dummy credentials still act as the emulator's account.
    assert make_client("sts").get_caller_identity()["Account"] == ACCOUNT_ID


def test_a_resource_policy_grants_another_account(
    seeded_emulator: Start, make_client: ClientFactory, assume_role: AssumeRole
) -> None:
    seeded_emulator(seed=four_places_seed())
    arn = cam_arn("east-mine")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "cleanrooms-ml:Get*"},
            {"Effect": "Deny", "Principal": {"AWS": OTHER}, "Action": "cleanrooms-ml:GetConfiguredAudienceModelPolicy"},
        ],
    }
    make_client().put_configured_audience_model_policy(
        configuredAudienceModelArn=arn, configuredAudienceModelPolicy=json.dumps(policy)
    )
    other = assume_role(OTHER).client("cleanroomsml")

    assert other.get_configured_audience_model(configuredAudienceModelArn=arn)["name"] == "east-mine"
    for denied in (
        lambda: other.update_configured_audience_model(configuredAudienceModelArn=arn, description="x"),
        lambda: other.get_configured_audience_model_policy(configuredAudienceModelArn=arn),  # explicit Deny wins
    ):
        with pytest.raises(ClientError) as excinfo:
            denied()
        assert error_of(excinfo) == ("AccessDeniedException", 403)


def test_default_account_comes_from_the_seed(seeded_emulator: Start, make_client: ClientFactory) -> None:
    account = "111122223333"
    record = cam_request(
        configuredAudienceModelArn=cam_arn("mine", account=account),
        audienceModelArn=AUDIENCE_MODEL_ARN.replace(ACCOUNT_ID, account),
    )
    server = seeded_emulator(seed={"configuredAudienceModels": [record]})
    assert server.account == account
    assert make_client("sts").get_caller_identity()["Account"] == account
    assert listed_names(make_client()) == ["cam-test"]


def test_account_parameter_wins_and_is_checked(seeded_emulator: Start, make_client: ClientFactory) -> None:
    server = seeded_emulator(seed=make_seed(1), account="444455556666")
    assert make_client("sts").get_caller_identity()["Account"] == "444455556666"
    assert listed_names(make_client()) == []  # the seeded model is 123456789012's
    assert server.client_environment("eu-west-1")["AWS_DEFAULT_REGION"] == "eu-west-1"
    with pytest.raises(ValueError, match="12 digits"):
        EmulatorServer(account="4444")


def test_an_explicit_moto_account_header_is_honoured(seeded_emulator: Start, make_client: ClientFactory) -> None:
    seeded_emulator(seed=four_places_seed())

    def with_header(service: str) -> Any:
        client = make_client(service)
        client.meta.events.register(
            "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", OTHER)
        )
        return client

    assert with_header("sts").get_caller_identity()["Account"] == OTHER
    assert listed_names(with_header("cleanroomsml")) == ["east-other"]


def test_moto_account_id_in_the_environment_rules_both_sides(
    seeded_emulator: Start, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto answers MOTO_ACCOUNT_ID for every request of this process; CleanRoomsML agrees.
    seeded_emulator(seed=four_places_seed())
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER)
    assert make_client("sts").get_caller_identity()["Account"] == OTHER
    assert listed_names(make_client()) == ["east-other"]


def test_no_region_or_account_leaks_through_s3_either(
    seeded_emulator: Start, make_client: ClientFactory, assume_role: AssumeRole
) -> None:
    seeded_emulator(seed=make_seed())
    make_client("s3").create_bucket(Bucket="mine-bucket")
    other = assume_role(OTHER).client("s3", config=Config(retries={"total_max_attempts": 1}))
    assert [b["Name"] for b in make_client("s3").list_buckets()["Buckets"]] == ["mine-bucket"]
    assert other.list_buckets()["Buckets"] == []
