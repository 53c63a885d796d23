"""The model as it will be after the update (live values for what the file leaves out): which
findings come from live values, and that the file's own values still stand."""

from __future__ import annotations

from typing import Any

import pytest
from factories import ARN, model_text

from cam_gitops.check.engine import apply_rules, effective_findings, effective_model
from cam_gitops.findings import Position
from cam_gitops.loader import load_bytes
from cam_gitops.model import ModelSpec, model_from_document


def spec(**changes: object) -> ModelSpec:
    document = load_bytes(model_text(**changes).encode(), "models/m.yaml", ".yaml").document
    assert document is not None
    return model_from_document(document)


def test_the_model_as_it_will_be_keeps_the_files_arn_and_values() -> None:
    model = spec(description=None)
    live = {"description": "live text", "minMatchingSeedSize": 5, "configuredAudienceModelArn": "ignored"}
    after = effective_model(model, live)
    assert after.arn == ARN
    assert after.desired == {**model.desired, "description": "live text"}
    found = apply_rules(after, {"allowed-regions": ["eu-west-1"]})
    assert [(f.rule, f.position.line, f.message) for f in found] == [
        ("allowed-regions", 1, "configuredAudienceModelArn is in region us-east-1; allowed regions: eu-west-1"),
        ("allowed-regions", 2, "audienceModelArn is in region us-east-1; allowed regions: eu-west-1"),
    ]


def test_a_value_set_nowhere_is_the_files_finding_not_a_live_one() -> None:
    model = spec(minMatchingSeedSize=None, description=None)
    rules = {"min-matching-seed-size": 1000, "require-description": True}
    assert effective_findings(model, {}, rules) == []
    assert effective_findings(model, {"minMatchingSeedSize": None}, rules) == []
    [live] = effective_findings(model, {"minMatchingSeedSize": 10}, rules)
    assert (live.rule, live.path, live.position.line) == ("min-matching-seed-size", "models/m.yaml", 1)
    assert live.message.startswith("minMatchingSeedSize is 10; policy requires at least 1000 (live value; ")


def test_a_live_value_the_file_overrides_is_not_judged() -> None:
    model = spec(minMatchingSeedSize=2000)
    assert effective_findings(model, {"minMatchingSeedSize": 10}, {"min-matching-seed-size": 1000}) == []


def test_a_rule_that_crashes_on_a_live_value_refuses_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from cam_gitops.check import rules

    def broken(model: Any, value: Any) -> Any:
        raise RuntimeError("cannot judge this")
        yield  # pragma: no cover

    monkeypatch.setitem(rules.CHECKS, "require-description", broken)
    model = spec(description=None)
    [finding] = effective_findings(model, {"description": "live text"}, {"require-description": True})
    assert (finding.rule, finding.path, finding.position) == ("require-description", "models/m.yaml", Position(1, 1))
    assert "rule failed on the model as it will be (live values included)" in finding.message


def test_live_tags_and_resource_policy_are_judged_when_the_file_leaves_them_out() -> None:
    rules = {"required-tags": {"team": {}}, "allowed-principals": ["444455556666"]}
    statement = {"Effect": "Allow", "Principal": {"AWS": "999988887777"}, "Action": "cleanrooms-ml:*"}
    live = {"tags": {"owner": "ana"}, "resourcePolicy": {"Version": "2012-10-17", "Statement": [statement]}}
    found = sorted(effective_findings(spec(), live, rules), key=lambda f: f.rule, reverse=True)
    assert [(f.rule, f.path, f.position) for f in found] == [
        ("required-tags", "models/m.yaml", Position(1, 1)),
        ("allowed-principals", "models/m.yaml", Position(1, 1)),
    ]
    assert found[0].message.startswith("tag team is required by policy; required tags: team (live value; not set in")
    assert "(live value; not set in models/m.yaml): add resourcePolicy" in found[1].message
    # the file's own tags and policy replace the live ones: nothing left to judge from AWS
    partner = {**statement, "Principal": {"AWS": "444455556666"}}
    own_policy = {"Version": "2012-10-17", "Statement": [partner]}
    assert effective_findings(spec(tags={"team": "ads"}, resourcePolicy=own_policy), live, rules) == []
