"""The pure plan of one model: which action, which field differences, and what it says."""

from __future__ import annotations

from typing import Any

import pytest

from cam_gitops.findings import Position, error
from cam_gitops.live.beside import POLICY, PolicyWork, TagWork
from cam_gitops.live.plan import CANNOT_UNSET, NO_OP, REFUSED, UPDATE, diff_fields, plan_model, summarize

ARN = "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/demo-0001"

# (case, live value, file value, differs): JSON equality, as the service compares values
VALUES = [
    ("true is not 1", True, 1, True),
    ("1 is not true", 1, True, True),
    ("false is not 0", False, 0, True),
    ("true is not false", True, False, True),
    ("false is not true", False, True, True),
    ("true is true", True, True, False),
    ("1 is 1.0", 1, 1.0, False),
    ("a list is not a string of its items", ["N", "O"], "NO", True),
    ("a string is not a list of its characters", "NO", ["N", "O"], True),
    ("lists compare item by item", [1, True], [1, 1], True),
    ("equal lists", ["NONE"], ["NONE"], False),
    ("a longer list", ["NONE"], ["NONE", "ALL"], True),
]


@pytest.mark.parametrize(("case", "live", "wanted", "differs"), VALUES, ids=[c[0] for c in VALUES])
def test_a_field_differs_when_json_says_the_values_differ(case: str, live: Any, wanted: Any, differs: bool) -> None:
    change = plan_model("models/m.yaml", ARN, {"sharedAudienceMetrics": wanted}, {"sharedAudienceMetrics": live})
    assert change.action == (UPDATE if differs else NO_OP)
    assert [(d.field, d.before, d.after) for d in change.diff] == (
        [("sharedAudienceMetrics", live, wanted)] if differs else []
    )
    assert change.error is None


def test_nested_fields_are_compared_leaf_by_leaf() -> None:
    desired = {"outputConfig": {"roleArn": "r2", "destination": {"s3Destination": {"s3Uri": "s3://a/"}}}}
    live = {"outputConfig": {"roleArn": "r1", "destination": {"s3Destination": {"s3Uri": "s3://a/"}}}}
    assert [(d.field, d.before, d.after) for d in diff_fields(desired, live)] == [("outputConfig.roleArn", "r1", "r2")]


@pytest.mark.parametrize("empty", [None, "", [], {}])
def test_a_field_removed_from_the_file_whose_live_value_is_empty_needs_no_unset(empty: Any) -> None:
    change = plan_model("models/m.yaml", ARN, {"minMatchingSeedSize": 1}, {"description": empty}, ["description"])
    assert change.action == UPDATE


def test_fields_removed_from_the_file_cannot_be_unset() -> None:
    live = {"description": "old", "minMatchingSeedSize": 5}
    change = plan_model("models/m.yaml", ARN, {}, live, ["minMatchingSeedSize", "description"])
    assert (change.action, change.failed) == (CANNOT_UNSET, True)
    assert change.error == (
        "description, minMatchingSeedSize removed from the file, but UpdateConfiguredAudienceModel is a PATCH "
        "and cannot unset a field: the live value would stay. Put the field back with the value you want."
    )
    assert summarize([change]).errors == 1


@pytest.mark.parametrize(("count", "values"), [(1, "1 live value"), (2, "2 live values")])
def test_a_model_that_live_values_would_break_is_refused(count: int, values: str) -> None:
    violations = [error("models/m.yaml", Position(1, 1), "require-description", str(i)) for i in range(count)]
    change = plan_model("models/m.yaml", ARN, {"minMatchingSeedSize": 1}, {}, violations=violations)
    assert (change.action, change.failed, change.violations) == (REFUSED, True, tuple(violations))
    assert change.error == (
        f"the model after the update would break the policy through {values} the file does not set; "
        "apply refuses it until the file sets them"
    )
    assert summarize([change]).refused == 1


def _statement(sid: str, principal: str) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "cleanrooms-ml:*"}


BEFORE_POLICY = {"Version": "2012-10-17", "Statement": [_statement("Partner", "444455556666")]}
AFTER_POLICY = {"Version": "2012-10-17", "Statement": [_statement("Partner", "555566667777")]}


def test_tags_and_the_resource_policy_change_beside_the_update_request() -> None:
    live = {"minMatchingSeedSize": 1000, "tags": {"team": "ads", "old": "x"}, POLICY: BEFORE_POLICY}
    change = plan_model(
        "models/m.yaml",
        ARN,
        {"minMatchingSeedSize": 1000},
        live,
        beside={"tags": {"team": "retail"}, POLICY: AFTER_POLICY},
        tag_work=TagWork({"team": "retail"}, ("old",)),
        policy_work=PolicyWork(AFTER_POLICY, False, "hash-1"),
    )
    assert change.action == UPDATE
    assert [(d.field, d.before, d.after) for d in change.diff] == [
        ("tags.old", "x", None),
        ("tags.team", "ads", "retail"),
        (f"{POLICY}.Statement[Sid Partner]", BEFORE_POLICY["Statement"][0], AFTER_POLICY["Statement"][0]),
    ]
    assert not change.update_request  # only Tag/Untag and PutPolicy calls are due
    assert change.tag_work is not None and change.policy_work is not None
    assert change.live_only == ()  # the file manages both


def test_a_field_change_needs_the_update_request_and_unmanaged_live_tags_are_listed() -> None:
    live = {"minMatchingSeedSize": 1000, "tags": {"team": "ads"}, POLICY: BEFORE_POLICY}
    change = plan_model("models/m.yaml", ARN, {"minMatchingSeedSize": 2000}, live)
    assert change.update_request
    assert change.tag_work is None and change.policy_work is None
    assert change.live_only == (("tags", {"team": "ads"}), (POLICY, BEFORE_POLICY))


@pytest.mark.parametrize(
    ("case", "work", "kept"),
    [
        ("nothing to do", TagWork(), False),
        ("a key left to others only", TagWork(left_to_others=("cost-center",)), True),
        ("a tag to set", TagWork({"team": "retail"}), True),
        ("a tag to remove", TagWork(untag=("old",)), True),
    ],
)
def test_tag_work_is_carried_when_there_is_something_to_do_or_say(case: str, work: TagWork, kept: bool) -> None:
    live = {"tags": {"team": "ads", "old": "x"}}
    change = plan_model("models/m.yaml", ARN, {}, live, beside={"tags": {}}, tag_work=work)
    assert (change.tag_work is work) if kept else (change.tag_work is None)
