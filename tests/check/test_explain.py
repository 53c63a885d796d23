"""cam-gitops explain: rule values through overrides, waivers, results on the file and on the
effective state, the policy.yaml view, JSON shape, exit codes, and no boto3 without --live."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import ARN, VALID_MODEL, write_repo

from cam_gitops.check.explain import (
    FAIL,
    NOT_ENFORCED,
    NOT_RUN,
    PASS,
    WAIVED,
    ExplainOptions,
    ExplainOutcome,
    ModelExplanation,
    PolicyExplanation,
    RuleExplanation,
    execute_explain,
)
from cam_gitops.check.policy import load_policy
from cam_gitops.cli import cli
from cam_gitops.report.check import Style
from cam_gitops.report.explain import FILES_SHOWN, explain_json, explain_text
from cam_gitops.workspace.layout import UsageError

TODAY = dt.date(2026, 6, 1)

POLICY: dict[str, Any] = {
    "rules": {
        "min-matching-seed-size": 1000,
        "allowed-shared-audience-metrics": ["NONE"],
        "require-description": True,
    },
    "overrides": [
        {"paths": ["models/sandbox/**"], "rules": {"min-matching-seed-size": 100}},
        {"paths": ["models/sandbox/deep/**", "models/legacy/*"], "rules": {"min-matching-seed-size": 50}},
        {"paths": ["models/**"], "rules": {"audience-size-ascending": True}},
    ],
}


def model(number: int, seed: int | None = 1500, description: bool = True) -> str:
    """VALID_MODEL with its own ARN; minMatchingSeedSize stays on line 4, column 22 when set."""
    text = VALID_MODEL.replace("demo-0001", f"demo-{number:04d}")
    if seed is None:
        text = text.replace("minMatchingSeedSize: 1500\n", "")
    else:
        text = text.replace("minMatchingSeedSize: 1500", f"minMatchingSeedSize: {seed}")
    return text if description else text.replace("description: Spring lookalikes\n", "")


def explain(
    root: Path,
    path: str,
    today: dt.date = TODAY,
    read_live: Callable[..., Mapping[str, Any] | str] | None = None,
) -> ExplainOutcome:
    return execute_explain(ExplainOptions(path, today=today), cwd=root, read_live=read_live)


def model_view(outcome: ExplainOutcome) -> ModelExplanation:
    assert isinstance(outcome.explanation, ModelExplanation), outcome
    return outcome.explanation


def rule_of(explanation: ModelExplanation, rule: str) -> RuleExplanation:
    return next(r for r in explanation.rules if r.rule == rule)


# (case, file, expected chain of min-matching-seed-size, value in force)
OVERRIDE_CASES = [
    ("no override", "models/a.yaml", ["top level"], 1000),
    ("one override", "models/sandbox/a.yaml", ["top level", "overrides[0]"], 100),
    ("two overrides in order", "models/sandbox/deep/a.yaml", ["top level", "overrides[0]", "overrides[1]"], 50),
    ("second glob of an override", "models/legacy/a.yaml", ["top level", "overrides[1]"], 50),
]


@pytest.mark.parametrize(("case", "path", "chain", "value"), OVERRIDE_CASES, ids=[c[0] for c in OVERRIDE_CASES])
def test_rule_value_and_where_it_came_from(tmp_path: Path, case: str, path: str, chain: list[str], value: int) -> None:
    root = write_repo(tmp_path, {path: model(1)}, policy=POLICY)
    explanation = model_view(explain(root, path))
    seed = rule_of(explanation, "min-matching-seed-size")
    assert [step.label for step in seed.chain] == chain
    assert seed.value == value
    policy = load_policy(root / "policy.yaml", "policy.yaml").policy
    assert policy is not None and seed.value == policy.rules_for(path)["min-matching-seed-size"]
    # a rule only an override sets comes from that override alone
    assert [step.label for step in rule_of(explanation, "audience-size-ascending").chain] == ["overrides[2]"]
    matched = [o.index for o in explanation.overrides]
    assert matched == sorted({int(label[10:-1]) for label in chain if label != "top level"} | {2})


# (case, file, seed, expected status, findings as (line, column))
RESULT_CASES = [
    ("passes the top-level value", "models/a.yaml", 1500, PASS, []),
    ("fails the top-level value", "models/a.yaml", 200, FAIL, [(4, 22)]),
    ("passes only through an override", "models/sandbox/a.yaml", 200, PASS, []),
    ("fails the override's value", "models/sandbox/deep/a.yaml", 40, FAIL, [(4, 22)]),
    ("field left out is a finding on the file", "models/a.yaml", None, FAIL, [(1, 1)]),
]


@pytest.mark.parametrize(("case", "path", "seed", "status", "where"), RESULT_CASES, ids=[c[0] for c in RESULT_CASES])
def test_result_of_a_rule_on_the_file(
    tmp_path: Path, case: str, path: str, seed: int | None, status: str, where: list[tuple[int, int]]
) -> None:
    root = write_repo(tmp_path, {path: model(1, seed)}, policy=POLICY)
    outcome = explain(root, path)
    result = rule_of(model_view(outcome), "min-matching-seed-size").on_file
    assert result.status == status
    assert [(e.finding.position.line, e.finding.position.column) for e in result.findings] == where
    assert outcome.exit_code == (1 if status == FAIL else 0)


def test_rules_not_configured_are_listed_as_not_enforced(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": model(1)}, policy={"rules": {"require-description": True}})
    explanation = model_view(explain(root, "models/a.yaml"))
    statuses = {r.rule: r.on_file.status for r in explanation.rules}
    assert statuses.pop("require-description") == PASS
    assert set(statuses.values()) == {NOT_ENFORCED}
    assert "allowed-role-arns" in statuses and "schema" not in statuses
    assert "  allowed-role-arns: not enforced\n" in explain_text(explain(root, "models/a.yaml"), Style())


def waiver(path: str, rule: str = "require-description", expires: str = "2026-12-31") -> dict[str, str]:
    return {"path": path, "rule": rule, "reason": "owner is writing it in RETAIL-1234", "expires": expires}


# (case, waivers, matched as (index, expired, waives now, rule enforced), rule status, exit code)
WAIVER_CASES = [
    ("matching, in force", [waiver("models/legacy/x.yaml")], [(0, False, 1, True)], WAIVED, 0),
    ("matching by glob", [waiver("models/legacy/*.yaml")], [(0, False, 1, True)], WAIVED, 0),
    ("matching by folder", [waiver("models/legacy/")], [(0, False, 1, True)], WAIVED, 0),
    ("expired", [waiver("models/legacy/x.yaml", expires="2026-05-31")], [(0, True, 0, True)], FAIL, 1),
    (
        "holds through its expiry day",
        [waiver("models/legacy/x.yaml", expires="2026-06-01")],
        [(0, False, 1, True)],
        WAIVED,
        0,
    ),
    ("not matching", [waiver("models/other/x.yaml"), waiver("models/legacy/*.json")], [], FAIL, 1),
    ("glob stays in its folder", [waiver("models/*.yaml")], [], FAIL, 1),
    (
        "a rule not enforced here",
        [waiver("models/legacy/x.yaml", rule="allowed-regions"), waiver("models/legacy/x.yaml")],
        [(0, False, 0, False), (1, False, 1, True)],
        WAIVED,
        0,
    ),
    (
        "the first waiver in force wins",
        [waiver("models/legacy/x.yaml", expires="2020-01-01"), waiver("models/**"), waiver("models/legacy/x.yaml")],
        [(0, True, 0, True), (1, False, 1, True), (2, False, 0, True)],
        WAIVED,
        0,
    ),
]


@pytest.mark.parametrize(
    ("case", "waivers", "matched", "status", "code"), WAIVER_CASES, ids=[c[0] for c in WAIVER_CASES]
)
def test_waivers_that_match_the_file(
    tmp_path: Path,
    case: str,
    waivers: list[dict[str, str]],
    matched: list[tuple[int, bool, int, bool]],
    status: str,
    code: int,
) -> None:
    policy = {"rules": {"require-description": True}, "waivers": waivers}
    root = write_repo(tmp_path, {"models/legacy/x.yaml": model(1, description=False)}, policy=policy)
    outcome = explain(root, "models/legacy/x.yaml")
    explanation = model_view(outcome)
    assert [(m.index, m.expired, m.waives, m.rule_enforced) for m in explanation.waivers] == matched
    result = rule_of(explanation, "require-description").on_file
    assert result.status == status
    assert outcome.exit_code == code
    waived_by = [m.index for m in explanation.waivers if m.waives]
    assert [e.waived_by for e in result.findings] == (waived_by or [None])


def test_waiver_text_says_reason_expiry_and_state(tmp_path: Path) -> None:
    policy = {
        "rules": {"require-description": True},
        "waivers": [waiver("models/x.yaml", expires="2026-01-31"), waiver("models/*.yaml")],
    }
    root = write_repo(tmp_path, {"models/x.yaml": model(1, description=False)}, policy=policy)
    text = explain_text(explain(root, "models/x.yaml"), Style())
    assert (
        "  waivers[0] require-description for models/x.yaml, expires 2026-01-31: "
        "expired (check reports waiver-expired), waives nothing now\n"
        "      reason: owner is writing it in RETAIL-1234\n"
        "  waivers[1] require-description for models/*.yaml, expires 2026-12-31: in force, waives 1 finding now\n"
    ) in text
    assert "[waived by waivers[1]]" in text
    assert text.endswith("Result: passes (1 waived).\n")


def test_a_file_with_schema_errors_lists_them_and_runs_no_rule(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": model(1, seed=10)}, policy=POLICY)
    outcome = explain(root, "models/a.yaml")
    explanation = model_view(outcome)
    assert outcome.exit_code == 1
    assert [(e.finding.rule, e.finding.position.line) for e in explanation.other_findings] == [("schema", 4)]
    assert rule_of(explanation, "min-matching-seed-size").on_file.status == NOT_RUN
    assert rule_of(explanation, "allowed-role-arns").on_file.status == NOT_ENFORCED


def test_duplicate_arn_with_another_file_is_reported(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": model(1), "models/b.yaml": model(1)}, policy=POLICY)
    outcome = explain(root, "models/a.yaml")
    assert outcome.exit_code == 1
    assert [e.finding.rule for e in model_view(outcome).other_findings] == ["duplicate-arn"]


LIVE = {"sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 2000, "description": "live text"}


def test_effective_state_reports_a_live_value_that_breaks_a_rule(tmp_path: Path) -> None:
    text = model(1, seed=None).replace("sharedAudienceMetrics: [NONE]\n", "")
    root = write_repo(tmp_path, {"models/a.yaml": text}, policy=POLICY)
    outcome = explain(root, "models/a.yaml", read_live=lambda spec: {**LIVE, "configuredAudienceModelArn": spec.arn})
    explanation = model_view(outcome)
    metrics = rule_of(explanation, "allowed-shared-audience-metrics")
    assert metrics.on_file.status == PASS  # the file does not set it
    assert metrics.on_effective is not None and metrics.on_effective.status == FAIL
    assert [e.from_live for e in metrics.on_effective.findings] == [True]
    assert "live value; not set in models/a.yaml" in metrics.on_effective.findings[0].finding.message
    seed = rule_of(explanation, "min-matching-seed-size")
    # left out of the file: a finding on the file, but the live value passes as the model will be
    assert (seed.on_file.status, seed.on_effective and seed.on_effective.status) == (FAIL, PASS)
    assert explanation.live is not None
    assert dict(explanation.live.values_not_in_file) == {"sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 2000}
    assert outcome.exit_code == 1
    data = json.loads(explain_json(outcome, Style()))
    live_finding = next(r for r in data["rules"] if r["rule"] == "allowed-shared-audience-metrics")["effective"]
    assert live_finding["findings"][0]["line"] is None and live_finding["findings"][0]["from_live"] is True
    assert '  sharedAudienceMetrics: ["ALL"]\n' in explain_text(outcome, Style())


def test_effective_state_keeps_the_files_own_findings_and_honours_waivers(tmp_path: Path) -> None:
    text = model(1, seed=200).replace("sharedAudienceMetrics: [NONE]\n", "")
    policy = {**POLICY, "waivers": [waiver("models/a.yaml", rule="allowed-shared-audience-metrics")]}
    root = write_repo(tmp_path, {"models/a.yaml": text}, policy=policy)
    outcome = explain(root, "models/a.yaml", read_live=lambda spec: LIVE)
    explanation = model_view(outcome)
    seed = rule_of(explanation, "min-matching-seed-size")
    assert seed.on_effective is not None and seed.on_effective.findings == seed.on_file.findings
    assert explanation.errors == 1  # one finding, on the file and standing on the effective state
    assert "      effective state: fail\n        the file's own finding above (set by the file)\n" in explain_text(
        outcome, Style()
    )
    metrics = rule_of(explanation, "allowed-shared-audience-metrics").on_effective
    assert metrics is not None and metrics.status == WAIVED
    assert [(m.index, m.waives) for m in explanation.waivers] == [(0, 1)]


def test_a_live_model_that_cannot_be_read_fails_and_says_why(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": model(1)}, policy=POLICY)
    outcome = explain(root, "models/a.yaml", read_live=lambda spec: "ResourceNotFoundException: no such model")
    explanation = model_view(outcome)
    assert outcome.exit_code == 1
    assert all(r.on_effective is None for r in explanation.rules)
    assert "Live model: could not be read: ResourceNotFoundException: no such model" in explain_text(outcome, Style())


def test_the_live_model_is_not_read_for_a_file_with_errors(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": "configuredAudienceModelArn: [1\n"}, policy=POLICY)
    calls: list[object] = []
    outcome = explain(root, "models/a.yaml", read_live=lambda spec: calls.append(spec) or {})
    assert (outcome.exit_code, calls) == (1, [])


def policy_repo(tmp_path: Path, count: int = 13) -> Path:
    models = {f"models/team/m{i:02d}.yaml": model(i) for i in range(count)}
    models["models/sandbox/s.yaml"] = model(99)
    policy = {
        "rules": {"require-description": True},
        "overrides": [
            {"paths": ["models/sandbox/**", "models/nowhere/*"], "rules": {"require-description": False}},
            {"paths": ["models/**"], "rules": {"audience-size-ascending": True}},
        ],
        "waivers": [
            waiver("models/team/m00.yaml"),
            waiver("models/**", rule="audience-size-ascending", expires="2026-01-01"),
            waiver("models/gone.yaml"),
        ],
        "ignore-unmanaged": [
            {
                "arn": ARN.replace("demo-0001", "partner-*"),
                "reason": "the partner team's pipeline",
                "expires": "2027-06-30",
            }
        ],
    }
    return write_repo(tmp_path, models, policy=policy)


def test_policy_view_lists_the_files_each_override_and_waiver_matches(tmp_path: Path) -> None:
    root = policy_repo(tmp_path)
    outcome = explain(root, "policy.yaml")
    assert outcome.exit_code == 0
    view = outcome.explanation
    assert isinstance(view, PolicyExplanation)
    assert view.model_files == 14
    sandbox, everything = view.overrides
    assert sandbox.matches.files == ("models/sandbox/s.yaml",)
    assert sandbox.matches.per_glob == (("models/sandbox/**", 1), ("models/nowhere/*", 0))
    assert (sandbox.matches.every_file, everything.matches.every_file) == (False, True)
    assert len(everything.matches.files) == 14
    one, every, unused = view.waivers
    assert (one.matches.files, one.expired) == (("models/team/m00.yaml",), False)
    assert (every.matches.every_file, every.expired) == (True, True)
    assert unused.matches.files == ()
    assert [expired for _, expired in view.ignored] == [False]


def test_policy_view_text_caps_long_lists_and_flags_globs_for_everything(tmp_path: Path) -> None:
    text = explain_text(explain(policy_repo(tmp_path), "policy.yaml"), Style())
    assert "      globs: models/sandbox/** (1), models/nowhere/* (0)\n" in text
    assert "      note: matches every model file (14): this override applies to everything\n" in text
    assert (
        "      note: matches every model file (14): this waiver excuses every model file from audience-size-ascending\n"
        in text
    )
    assert f"        and {14 - FILES_SHOWN} more\n" in text
    assert "models/team/m12.yaml" not in text  # past the cap
    assert "      matches no model file\n" in text
    assert "partner-*, expires 2027-06-30" in text
    assert "not enforced at the top level: min-matching-seed-size," in text


def test_policy_json_shape_lists_every_file(tmp_path: Path) -> None:
    data = json.loads(explain_json(explain(policy_repo(tmp_path), "policy.yaml"), Style()))
    assert set(data) == {
        "kind",
        "path",
        "today",
        "model_files",
        "notes",
        "rules",
        "not_enforced",
        "overrides",
        "waivers",
        "ignore_unmanaged",
    }
    assert (data["kind"], data["path"], data["model_files"]) == ("policy", "policy.yaml", 14)
    everything = data["overrides"][1]
    assert set(everything) == {"index", "paths", "rules", "files", "file_count", "matches_every_file", "globs"}
    assert (everything["file_count"], len(everything["files"]), everything["matches_every_file"]) == (14, 14, True)
    assert data["waivers"][1]["status"] == "expired" and data["waivers"][0]["status"] == "in force"
    assert data["ignore_unmanaged"][0]["expires"] == "2027-06-30"


def test_model_json_shape(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/sandbox/deep/a.yaml": model(1, seed=40)}, policy=POLICY)
    data = json.loads(explain_json(explain(root, "models/sandbox/deep/a.yaml"), Style()))
    assert set(data) == {
        "kind",
        "path",
        "project_path",
        "policy",
        "today",
        "notes",
        "overrides",
        "rules",
        "waivers",
        "other_findings",
        "live",
        "result",
    }
    assert (data["kind"], data["live"], data["today"]) == ("model", None, "2026-06-01")
    assert data["result"] == {"passes": False, "errors": 1, "waived": 0}
    seed = data["rules"][0]
    assert set(seed) == {"rule", "summary", "enforced", "value", "source", "chain", "file", "effective"}
    assert (seed["rule"], seed["value"], seed["source"]) == ("min-matching-seed-size", 50, "overrides[1]")
    assert [(s["source"], s["value"]) for s in seed["chain"]] == [
        ("top level", 1000),
        ("overrides[0]", 100),
        ("overrides[1]", 50),
    ]
    assert seed["chain"][2]["paths"] == ["models/sandbox/deep/**", "models/legacy/*"]
    finding = seed["file"]["findings"][0]
    assert (seed["file"]["status"], finding["line"], finding["column"], finding["waived_by"]) == ("fail", 4, 22, None)
    assert next(r for r in data["rules"] if r["rule"] == "audience-size")["file"] == {
        "status": "not enforced",
        "findings": [],
    }


def test_model_text_shows_the_override_chain(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/sandbox/deep/a.yaml": model(1, seed=40)}, policy=POLICY)
    text = explain_text(explain(root, "models/sandbox/deep/a.yaml"), Style())
    assert (
        "  min-matching-seed-size = 50\n"
        "      from: top level 1000 -> overrides[0] [models/sandbox/**] 100 -> "
        "overrides[1] [models/sandbox/deep/**, models/legacy/*] 50\n"
        "      file: fail\n"
        "        models/sandbox/deep/a.yaml:4:22: error [min-matching-seed-size] "
        "minMatchingSeedSize is 40; policy requires at least 50\n"
    ) in text
    assert "  overrides[1] [models/sandbox/deep/**, models/legacy/*], matched by models/sandbox/deep/**\n" in text
    assert "Live model: not read (--live reads it" in text
    assert text.endswith("Result: fails with 1 error.\n")


def test_untrusted_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    name = "models/\x1b[2Jx.yaml"
    policy = {
        "rules": {"require-description": True},
        "waivers": [{**waiver("models/*"), "reason": "reads \u202eright to left\u202c, \x07 bell"}],
    }
    root = write_repo(tmp_path, {name: model(1, description=False)}, policy=policy)
    outcome = explain(root, name)
    text = explain_text(outcome, Style())
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "models/\\u001b[2Jx.yaml" in text and "reads \\u202eright to left" in text
    assert "\x1b" not in explain_json(outcome, Style())


def test_a_project_in_a_subfolder_shows_paths_from_where_the_command_ran(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    root = write_repo(tmp_path / "team", {"models/sandbox/a.yaml": model(1, seed=200)}, policy=POLICY)
    (root / ".git").rmdir()
    explanation = model_view(explain(tmp_path, "team/models/sandbox/a.yaml"))
    assert (explanation.path, explanation.project_path) == ("team/models/sandbox/a.yaml", "models/sandbox/a.yaml")
    assert rule_of(explanation, "min-matching-seed-size").value == 100  # the override's glob is the project's
    view = explain(tmp_path, "team/policy.yaml").explanation
    assert isinstance(view, PolicyExplanation) and view.overrides[0].matches.files == ("team/models/sandbox/a.yaml",)


@pytest.mark.parametrize(
    ("case", "path", "message"),
    [
        ("hidden file", "models/.draft.yaml", "not a model file (a hidden file is never checked or applied)"),
        ("outside models/", "notes.yaml", "not a model file (not under models/ of the project)"),
        ("missing file", "models/nope.yaml", "no such file"),
        ("a folder", "models", "a folder"),
        ("not yaml or json", "models/readme.txt", "not a model file"),
    ],
)
def test_paths_that_are_neither_a_model_file_nor_the_policy(tmp_path: Path, case: str, path: str, message: str) -> None:
    files = {"models/a.yaml": model(1), "models/.draft.yaml": model(2), "notes.yaml": model(3)}
    root = write_repo(tmp_path, {**files, "models/readme.txt": "hello"}, policy=POLICY)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        explain(root, path)


def invoke(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["explain", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"models/ok.yaml": model(1), "models/bad.yaml": model(2, seed=200), "models/.hidden.yaml": model(3)}
    root = write_repo(tmp_path, files, policy=POLICY)
    assert invoke(root, monkeypatch, "models/ok.yaml")[0] == 0
    code, output = invoke(root, monkeypatch, "models/bad.yaml")
    assert code == 1 and "Result: fails with 1 error." in output
    code, output = invoke(root, monkeypatch, "policy.yaml", "--format", "json")
    assert code == 0 and json.loads(output)["kind"] == "policy"
    for usage in (["models/.hidden.yaml"], ["models/missing.yaml"], ["models"], ["models/ok.yaml", "--format", "xml"]):
        code, output = invoke(root, monkeypatch, *usage)
        assert code == 4, (usage, output)
    assert invoke(root, monkeypatch)[0] == 4  # no path at all


def test_cli_invalid_policy_exits_4_with_its_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": model(1)}, policy="rules:\n  min-matching-seed-sise: 10\n")
    for target in ("models/a.yaml", "policy.yaml"):
        code, output = invoke(root, monkeypatch, target)
        assert code == 4
        assert output.startswith("policy.yaml:2:3: error [policy] unknown key 'min-matching-seed-sise'")
    code, output = invoke(root, monkeypatch, "models/a.yaml", "--format", "json")
    assert code == 4 and json.loads(output)["kind"] == "invalid-policy"


def test_cli_without_policy_explains_with_no_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": model(1)})
    (root / "policy.yaml").unlink()
    code, output = invoke(root, monkeypatch, "models/a.yaml")
    assert code == 0
    assert "note: no policy.yaml found: only the schema is checked" in output
    assert "  min-matching-seed-size: not enforced\n" in output


def test_explain_without_live_never_imports_boto3(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": model(1, seed=200)}, policy=POLICY)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cam_gitops.cli", "explain", "models/a.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert done.returncode == 1, done.stderr[-2000:]
    assert "cam_gitops.check.explain" in modules  # the measurement saw explain run
    assert sorted(m for m in modules if m.split(".")[0] in ("boto3", "botocore")) == []


@pytest.mark.e2e
def test_live_value_that_breaks_a_rule_is_reported_under_the_effective_state(
    tmp_path: Path, seeded_emulator: Callable[..., Any], run: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    from e2e_helpers import desired, live_seed, make_repo

    seed = live_seed(1)
    seed["configuredAudienceModels"][0]["sharedAudienceMetrics"] = ["ALL"]
    seeded_emulator(seed=seed)
    policy = {"rules": {"allowed-shared-audience-metrics": ["NONE"], "min-matching-seed-size": 100}}
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0", sharedAudienceMetrics=None)}, policy=policy)

    offline = run(root, "explain", "models/cam-0.yaml")
    assert offline.returncode == 0, offline.stdout + offline.stderr

    done = run(root, "explain", "models/cam-0.yaml", "--live", "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["live"] == {"error": None, "values_not_in_file": {"sharedAudienceMetrics": ["ALL"]}}
    metrics = next(r for r in data["rules"] if r["rule"] == "allowed-shared-audience-metrics")
    assert metrics["file"]["status"] == "pass"
    assert metrics["effective"]["status"] == "fail"
    assert metrics["effective"]["findings"][0]["from_live"] is True
    assert (
        "sharedAudienceMetrics ALL is not allowed; allowed: NONE (live value"
        in metrics["effective"]["findings"][0]["message"]
    )

    text = run(root, "explain", "models/cam-0.yaml", "--live")
    assert text.returncode == 1
    assert "      effective state: fail\n        live value: error [allowed-shared-audience-metrics]" in text.stdout
    assert '  sharedAudienceMetrics: ["ALL"]\n' in text.stdout
