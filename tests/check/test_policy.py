"""policy.yaml: overrides per folder, waivers, and invalid policies (exit 2, findings on the policy)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import ARN, model_text, write_repo

from cam_gitops.check.policy import Override, Policy
from cam_gitops.cli import cli

TODAY = dt.date.today()
Violation = tuple[str, str, int]


def run(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, list[dict[str, object]]]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(cli, ["check", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)["violations"]


def run_text(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(cli, ["check", *args])
    return result.exit_code, result.output


def brief(found: list[dict[str, object]]) -> list[Violation]:
    return [(str(f["path"]), str(f["rule"]), int(str(f["line"]))) for f in found]


def seed(n: int, number: int) -> str:
    """A valid model with its own ARN and minMatchingSeedSize n (on line 4)."""
    return model_text(arn=ARN.replace("0001", f"{number:04d}"), minMatchingSeedSize=n)


# --- overrides ---------------------------------------------------------------------------------

OVERRIDE_POLICY = """\
rules:
  min-matching-seed-size: 1000
overrides:
  - paths: [models/media/**]
    rules:
      min-matching-seed-size: 2000
  - paths: [models/media/sandbox/**, models/lab/*]
    rules:
      min-matching-seed-size: 100
"""


def test_overrides_apply_to_their_folders_and_later_ones_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(
        tmp_path,
        {
            "models/retail/a.yaml": seed(1500, 1),  # top-level 1000: passes
            "models/retail/b.yaml": seed(500, 2),  # top-level 1000: fails
            "models/media/c.yaml": seed(1500, 3),  # stricter 2000: fails
            "models/media/deep/er/d.yaml": seed(2500, 4),  # ** spans folders: passes
            "models/media/sandbox/x/e.yaml": seed(150, 5),  # later, looser override wins: passes
            "models/lab/f.yaml": seed(150, 6),  # * stays within the folder: passes
            "models/lab/deeper/g.yaml": seed(150, 7),  # not matched by models/lab/*: top-level 1000 fails
            "models/mediax/h.yaml": seed(1500, 8),  # not under models/media/: passes
        },
        policy=OVERRIDE_POLICY,
    )
    code, found = run(root, monkeypatch)
    assert code == 1
    assert brief(found) == [
        ("models/lab/deeper/g.yaml", "min-matching-seed-size", 4),
        ("models/media/c.yaml", "min-matching-seed-size", 4),
        ("models/retail/b.yaml", "min-matching-seed-size", 4),
    ]
    assert found[1]["message"] == "minMatchingSeedSize is 1500; policy requires at least 2000"


def test_override_replaces_a_whole_rule_value() -> None:
    policy = Policy(
        path="policy.yaml",
        rules={"audience-size": {"max-bins": 2, "min-bin": 10}, "require-description": True},
        overrides=(Override(paths=("models/x/**",), rules={"audience-size": {"max-bins": 5}}),),
    )
    assert policy.rules_for("models/x/a.yaml") == {"audience-size": {"max-bins": 5}, "require-description": True}
    assert policy.rules_for("models/y/a.yaml") == {
        "audience-size": {"max-bins": 2, "min-bin": 10},
        "require-description": True,
    }


# --- waivers -----------------------------------------------------------------------------------


def waiver_policy(*waivers: str) -> str:
    head = "rules:\n  min-matching-seed-size: 1000\n  require-description: true\nwaivers:\n"
    return head + "".join(textwrap.indent(textwrap.dedent(w), "  ") for w in waivers)


def waiver(path: str, rule: str, expires: dt.date) -> str:
    return f"""\
    - path: {path}
      rule: {rule}
      reason: Legacy model, owner is fixing it in RETAIL-1234
      expires: {expires.isoformat()}
    """


def test_waiver_suppresses_only_its_rule_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = waiver_policy(waiver("models/legacy/*.yaml", "min-matching-seed-size", TODAY))  # holds today
    root = write_repo(
        tmp_path,
        {
            "models/legacy/old.yaml": model_text(
                arn=ARN.replace("0001", "0002"), minMatchingSeedSize=30, description=None
            ),
            "models/new.yaml": seed(30, 3),
        },
        policy=policy,
    )
    code, found = run(root, monkeypatch)
    assert code == 1
    assert brief(found) == [
        ("models/legacy/old.yaml", "require-description", 1),  # another rule: not waived
        ("models/new.yaml", "min-matching-seed-size", 4),  # another path: not waived
    ]
    code, output = run_text(root, monkeypatch)
    assert output.rstrip().splitlines()[-1] == "checked 2 files: 2 errors (1 waived)"


def test_waived_findings_leave_a_clean_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = waiver_policy(waiver("models/old.yaml", "min-matching-seed-size", TODAY + dt.timedelta(days=30)))
    root = write_repo(tmp_path, {"models/old.yaml": seed(30, 1)}, policy=policy)
    assert run_text(root, monkeypatch) == (0, "checked 1 file: no problems (1 waived)\n")


def test_expired_waiver_is_an_error_on_the_policy_and_stops_waiving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    policy = waiver_policy(
        waiver("models/ok.yaml", "require-description", TODAY + dt.timedelta(days=1)),  # line 5, used
        waiver("models/old.yaml", "min-matching-seed-size", yesterday),  # line 9
    )
    root = write_repo(
        tmp_path,
        {
            "models/old.yaml": seed(30, 1),
            "models/ok.yaml": model_text(arn=ARN.replace("0001", "0002"), description=None),
        },
        policy=policy,
    )
    code, found = run(root, monkeypatch)
    assert code == 1
    assert brief(found) == [
        ("models/old.yaml", "min-matching-seed-size", 4),
        ("policy.yaml", "waiver-expired", 9),
    ]
    assert found[1]["severity"] == "error"
    assert found[1]["column"] == 5
    assert f"expired on {yesterday.isoformat()}" in str(found[1]["message"])


def test_unused_waiver_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = waiver_policy(waiver("models/gone.yaml", "require-description", TODAY))
    root = write_repo(tmp_path, {"models/a.yaml": seed(1500, 1)}, policy=policy)
    code, found = run(root, monkeypatch)
    assert code == 0
    assert [(*b, f["severity"]) for b, f in zip(brief(found), found, strict=True)] == [
        ("policy.yaml", "waiver-unused", 5, "warning")
    ]
    assert found[0]["message"] == "waiver of require-description for models/gone.yaml waives nothing; remove it"
    assert run(root, monkeypatch, "--strict")[0] == 1


def test_unused_waiver_of_a_file_not_checked_is_not_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = waiver_policy(
        waiver("models/b.yaml", "min-matching-seed-size", TODAY),  # b is fine: unused
        waiver("models/a.yaml", "require-description", TODAY),  # a has a description: unused
    )
    root = write_repo(tmp_path, {"models/a.yaml": seed(1500, 1), "models/b.yaml": seed(1500, 2)}, policy=policy)
    assert run(root, monkeypatch, "models/a.yaml") == (
        0,
        [
            {
                "path": "policy.yaml",
                "line": 9,
                "column": 5,
                "rule": "waiver-unused",
                "severity": "warning",
                "message": "waiver of require-description for models/a.yaml waives nothing; remove it",
            },
        ],
    )
    # the whole repository (no paths, or policy.yaml among them) reports both
    for args in ((), ("policy.yaml",)):
        code, found = run(root, monkeypatch, *args)
        assert (code, brief(found)) == (0, [("policy.yaml", "waiver-unused", 5), ("policy.yaml", "waiver-unused", 9)])


def test_waiver_cannot_hide_a_schema_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = waiver_policy(waiver("models/a.yaml", "min-matching-seed-size", TODAY))
    root = write_repo(tmp_path, {"models/a.yaml": seed(10, 1)}, policy=policy)  # 10 < 25: schema error
    code, found = run(root, monkeypatch)
    assert code == 1
    assert brief(found) == [("models/a.yaml", "schema", 4), ("policy.yaml", "waiver-unused", 5)]


# --- invalid policies --------------------------------------------------------------------------

INVALID_POLICIES = [
    ("unknown rule key", "rules:\n  require-descripton: true\n", 2, "did you mean 'require-description'?"),
    ("unknown top-level key", "rules: {}\nwaiver: []\n", 2, "did you mean 'waivers'?"),
    (
        "account id unquoted",
        "rules:\n  allowed-accounts: [111122223333]\n",
        2,
        "rules.allowed-accounts[0] must be a string, got 111122223333; quote it to make it a string",
    ),
    (
        "seed size as a word",
        "rules:\n  min-matching-seed-size: lots\n",
        2,
        'rules.min-matching-seed-size must be an integer, got "lots"',
    ),
    (
        "waiver without reason",
        "rules: {}\nwaivers:\n  - path: models/a.yaml\n    rule: require-description\n    expires: 2030-01-01\n",
        3,
        "waivers[0] is missing required key 'reason'",
    ),
    (
        "waiver without expires",
        "rules: {}\nwaivers:\n  - path: models/a.yaml\n    rule: require-description\n    reason: a good long reason\n",
        3,
        "waivers[0] is missing required key 'expires'",
    ),
    (
        "waiver of a schema finding",
        "rules: {}\nwaivers:\n  - path: models/a.yaml\n    rule: schema\n"
        "    reason: a good long reason\n    expires: 2030-01-01\n",
        4,
        "waivers[0].rule must be one of",
    ),
    (
        "waiver expires not a real date",
        "rules: {}\nwaivers:\n  - path: models/a.yaml\n    rule: require-description\n"
        "    reason: a good long reason\n    expires: 2026-02-30\n",
        6,
        "waivers[0].expires is not a real date: 2026-02-30; use YYYY-MM-DD",
    ),
    (
        "min-bin above max-bin",
        "rules:\n  audience-size:\n    min-bin: 5000\n    max-bin: 100\n",
        3,
        "audience-size min-bin (5000) is greater than max-bin (100); no bin could pass",
    ),
    (
        "min-percentage above max-percentage in an override",
        "rules: {}\noverrides:\n  - paths: [models/x/**]\n    rules:\n"
        "      audience-size: {min-percentage: 50, max-percentage: 5}\n",
        5,
        "min-percentage (50) is greater than max-percentage (5)",
    ),
    (
        "s3 prefix with dotdot",
        "rules:\n  allowed-s3-prefixes:\n    - s3://acme/ok/\n    - s3://acme/aud/../x/\n",
        4,
        "allowed-s3-prefixes entry s3://acme/aud/../x/ has an empty, '.' or '..' segment",
    ),
    ("s3 prefix with empty segment", "rules:\n  allowed-s3-prefixes: [s3://acme//x/]\n", 2, "empty, '.' or '..'"),
    (
        "required-tags pattern that can take exponential time",
        "rules:\n  required-tags:\n    team: {}\n    owner: {pattern: '^(a+)+$'}\n",
        4,
        "required-tags owner pattern repeats a group that itself repeats or alternates, which can take "
        "exponential time on some values; write it without nested repeats",
    ),
    (
        "required-tags pattern that does not compile, in an override",
        "rules: {}\noverrides:\n  - paths: [models/x/**]\n    rules:\n      required-tags:\n"
        "        env:\n          pattern: '[a-'\n",
        7,
        "required-tags env pattern is not a valid regular expression (",
    ),
    ("rules not a mapping", "rules: [min-matching-seed-size]\n", 1, "rules must be a mapping, got a list of 1"),
    ("waivers not a list", "rules: {}\nwaivers: 5\n", 2, "waivers must be a list, got 5"),
    (
        "range and type errors together",
        "rules:\n  audience-size: {min-bin: x, max-bin: 5}\n",
        2,
        'rules.audience-size.min-bin must be an integer, got "x"',
    ),
]


@pytest.mark.parametrize(("case", "policy", "line", "message"), INVALID_POLICIES, ids=[c[0] for c in INVALID_POLICIES])
def test_invalid_policy_exits_4_with_a_policy_finding_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, policy: str, line: int, message: str
) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": seed(1500, 1)}, policy=policy)
    code, found = run(root, monkeypatch)
    assert code == 4
    assert brief(found) == [("policy.yaml", "policy", line)]
    assert message in str(found[0]["message"])
    assert found[0]["severity"] == "error"


def test_invalid_yaml_in_the_policy_is_a_parse_error_with_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": seed(1500, 1)}, policy="rules:\n  require-description: [true\n")
    code, found = run(root, monkeypatch)
    assert code == 4
    assert brief(found) == [("policy.yaml", "parse", 3)]
    code, output = run_text(root, monkeypatch)
    assert (code, output.splitlines()[-1]) == (4, "checked 0 files: 1 error")


def test_duplicate_rule_in_the_policy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = "rules:\n  min-matching-seed-size: 1000\n  min-matching-seed-size: 10\n"
    root = write_repo(tmp_path, {"models/a.yaml": seed(500, 1)}, policy=policy)
    code, found = run(root, monkeypatch)
    assert code == 4
    assert brief(found) == [("policy.yaml", "duplicate-key", 3)]


def test_policy_option_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": seed(500, 1)}, policy="rules: {}\n")
    (root / "strict.yaml").write_text("rules:\n  min-matching-seed-size: 1000\n")
    assert run(root, monkeypatch)[0] == 0
    code, found = run(root, monkeypatch, "--policy", "strict.yaml")
    assert (code, brief(found)) == (1, [("models/a.yaml", "min-matching-seed-size", 4)])


# --- a policy that sets no rules --------------------------------------------------------------

EXPLICIT = "or `rules: {}` to enforce no org rules on purpose"
NO_POLICY_RULES = [
    ("empty file", "", (1, 1), "parse", "file is empty"),
    ("blank lines", "\n  \n", (1, 1), "parse", "file is empty"),
    ("comments only", "# rules to come\n\n# more\n", (1, 1), "parse", "file has no content, only comments"),
    ("an empty document", "# rules to come\n---\n", (1, 1), "parse", "file has no content, only comments"),
    ("no rules key", "waivers: []\n", (1, 1), "policy", "policy sets no rules"),
    ("no rules key, only overrides", "overrides: []\n", (1, 1), "policy", "policy sets no rules"),
    ("rules left empty", "# header\nrules:\nwaivers: []\n", (2, 7), "policy", "rules is empty"),
    ("rules null", "rules: ~\n", (1, 8), "policy", "rules is empty"),
]


@pytest.mark.parametrize(
    ("case", "policy", "where", "rule", "says"), NO_POLICY_RULES, ids=[c[0] for c in NO_POLICY_RULES]
)
def test_a_policy_that_sets_no_rules_is_an_error_that_says_how_to_mean_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    policy: str,
    where: tuple[int, int],
    rule: str,
    says: str,
) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=30)}, policy=policy)
    code, found = run(root, monkeypatch)
    assert code == 4
    assert [(f["path"], f["rule"], f["line"], f["column"], f["severity"]) for f in found] == [
        ("policy.yaml", rule, *where, "error")
    ]
    assert says in str(found[0]["message"]) and EXPLICIT in str(found[0]["message"])


def test_rules_stated_empty_is_a_policy_with_no_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=30)}, policy="rules: {}\n")
    assert run(root, monkeypatch) == (0, [])


def test_missing_rules_is_reported_with_the_other_policy_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": seed(1500, 1)}, policy="waivers: 5\n")
    code, found = run(root, monkeypatch)
    assert code == 4
    assert [(f["rule"], f["line"], f["message"]) for f in found] == [
        ("policy", 1, f"policy sets no rules; write `rules:` with the rules every model must follow, {EXPLICIT}"),
        ("policy", 1, "waivers must be a list, got 5"),
    ]


def test_a_waiver_or_override_for_every_model_file_is_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = (
        "rules:\n"
        "  require-description: true\n"
        "overrides:\n"
        "  - paths: [models/sandbox/**, models/**]\n"
        "    rules: {require-description: true}\n"
        "waivers:\n"
        "  - path: '**'\n"
        "    rule: require-description\n"
        "    reason: nobody writes descriptions\n"
        "    expires: 2099-01-01\n"
        "  - path: models/retail/**\n"
        "    rule: require-description\n"
        "    reason: retail is migrating its models\n"
        "    expires: 2099-01-01\n"
    )
    root = write_repo(tmp_path, {"models/retail/a.yaml": seed(1500, 1)}, policy=policy)
    code, found = run(root, monkeypatch)
    flagged = [f for f in found if f["rule"] == "policy"]
    assert code == 0  # warnings: a reviewer sees them; --strict fails on them
    assert [(f["line"], f["severity"]) for f in flagged] == [(4, "warning"), (7, "warning")]
    assert "models/** matches every model file" in str(flagged[0]["message"])
    assert "for ** matches every model file" in str(flagged[1]["message"])
    assert run(root, monkeypatch, "--strict")[0] == 1
