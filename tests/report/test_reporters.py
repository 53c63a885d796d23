"""Reporters: SARIF against the official 2.1.0 schema, GitHub workflow commands, Markdown/text/JSON
snapshots, --output and colour."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from factories import ARN, VALID_MODEL, model_text, write_repo
from jsonschema.validators import validator_for
from snapshot_cases import SNAPSHOT_DIR, SNAPSHOTS, UPDATE_COMMAND, arn, plan_changes

from cam_gitops import cli as cli_module
from cam_gitops.check.checker import CheckResult
from cam_gitops.cli import cli
from cam_gitops.findings import Finding, Position, Severity
from cam_gitops.live.plan import UPDATE, Change, FieldChange
from cam_gitops.report.check import CHECK_REPORTERS, Style, check_text, github_annotation, sarif_report
from cam_gitops.report.escape import github_escape_data, github_escape_property, sarif_text
from cam_gitops.report.plan import MARKDOWN_LIMIT, PLAN_REPORTERS, plan_github, plan_markdown, plan_sarif

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"
CAM_GITOPS = str(Path(sys.executable).parent / "cam-gitops")
ANSI = "\x1b["


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def sarif_unescape(text: str) -> str:
    """A SARIF plain-text message as a viewer shows it (`\\[`, `\\]`, `\\\\` unescaped)."""
    return re.sub(r"\\([\\\[\]])", r"\1", text)


def assert_valid_sarif(validator: Any, log: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def invoke(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str] | None = None) -> Any:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def findings_repo(tmp_path: Path) -> Path:
    """A repository whose check finds schema, policy-rule, parse, duplicate-arn errors and a warning."""
    other = ARN.replace("0001", "0002")
    twin = ARN.replace("0001", "0003")
    return write_repo(
        tmp_path / "repo",
        {
            "models/retail/low seed.yaml": model_text(minMatchingSeedSize=100),
            "models/retail/quoted.yaml": model_text(arn=other, minMatchingSeedSize="1500"),
            "models/broken.yaml": "a: [1, 2\nb: 3\n",
            "models/twin-a.yaml": model_text(arn=twin),
            "models/twin-b.json": json.dumps(yaml.safe_load(model_text(arn=twin)), indent=2),
            "models/bom.yaml": b"\xef\xbb\xbf" + VALID_MODEL.replace("0001", "0004").encode(),
        },
    )


# --- SARIF --------------------------------------------------------------------------------------


def test_shipped_schema_is_the_official_sarif_2_1_0() -> None:
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["id"].endswith("/sarif-schema-2.1.0.json") and "v2.1.0" in schema["id"]
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert validator_for(schema).__name__ == "Draft4Validator"  # as declared by its $schema
    validator_for(schema).check_schema(schema)


def test_check_sarif_validates_and_matches_the_findings(
    findings_repo: Path, monkeypatch: pytest.MonkeyPatch, sarif_validator: Any
) -> None:
    sarif_run = invoke(findings_repo, monkeypatch, "check", "--format", "sarif")
    json_run = invoke(findings_repo, monkeypatch, "check", "--format", "json")
    assert sarif_run.exit_code == json_run.exit_code == 1
    log = json.loads(sarif_run.output)
    violations = json.loads(json_run.output)["violations"]
    assert {v["rule"] for v in violations} >= {"schema", "min-matching-seed-size", "parse", "duplicate-arn"}
    assert any(v["severity"] == "warning" for v in violations)

    assert_valid_sarif(sarif_validator, log)
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "one rule entry per rule id"
    for rule in rules:
        assert rule["help"]["text"].strip() and rule["shortDescription"]["text"].strip()

    results = run["results"]
    assert len(results) == len(violations)
    for result, violation in zip(results, violations, strict=True):
        assert result["ruleId"] == violation["rule"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == violation["severity"]
        # Brackets and backslashes are escaped in SARIF plain text, so no `[x](target)` is a link.
        assert result["message"]["text"] == sarif_text(violation["message"])
        assert sarif_unescape(result["message"]["text"]) == violation["message"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["region"] == {"startLine": violation["line"], "startColumn": violation["column"]}
        assert physical["artifactLocation"]["uri"] == violation["path"].replace(" ", "%20")
        assert " " not in physical["artifactLocation"]["uri"], "a SARIF uri is a URI reference: no raw spaces"


def test_sarif_of_every_rule_and_odd_paths_validates(sarif_validator: Any) -> None:
    findings = [
        Finding("models/a b#c%d é.yaml", Position(3, 7), "schema", Severity.ERROR, "bad\nvalue"),
        Finding("policy.yaml", Position(1, 1), "waiver-unused", Severity.WARNING, "waives nothing"),
        Finding("models/x.yaml", Position(1, 1), "not-a-known-rule", Severity.ERROR, "future rule"),
    ]
    log = sarif_report(findings)
    assert_valid_sarif(sarif_validator, log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "models/a%20b%23c%25d%20%C3%A9.yaml"
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["not-a-known-rule"]["help"]["text"]


def test_plan_sarif_validates_with_plan_rules(sarif_validator: Any) -> None:
    changes = plan_changes()
    log = json.loads(plan_sarif(changes, Style()))
    assert_valid_sarif(sarif_validator, log)
    (run,) = log["runs"]
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    results = [r for r in run["results"] if not r.get("suppressions")]
    # Every change but the no-op is reported; updates are warnings, errors and cannot-unset are errors.
    assert len(results) == len([c for c in changes if c.action != "no-op"])
    # a waived finding is carried, marked as suppressed, never dropped
    assert [(r["ruleId"], r["suppressions"][0]["kind"]) for r in suppressed] == [("require-description", "external")]
    by_path = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in results}
    spring = by_path["models/retail/spring.yaml"]
    assert (spring["ruleId"], spring["level"]) == ("plan-update", "warning")
    assert "outputConfig.destination.s3Destination.s3Uri" in spring["message"]["text"]
    assert (by_path["models/retail/winter.yaml"]["ruleId"], by_path["models/retail/winter.yaml"]["level"]) == (
        "plan-cannot-unset",
        "error",
    )
    assert by_path["models/ghost.yaml"]["message"]["text"].startswith("ResourceNotFoundException")
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    for rule_id in ("plan-update", "plan-error", "plan-cannot-unset", "plan-unmanaged"):
        assert rules[rule_id]["help"]["text"] != rule_id
    for result in results:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert PLAN_REPORTERS["sarif"] is plan_sarif


def test_empty_plan_sarif_validates(sarif_validator: Any) -> None:
    log = json.loads(plan_sarif([], Style()))
    assert_valid_sarif(sarif_validator, log)
    assert log["runs"][0]["results"] == []


# --- GitHub workflow commands ---------------------------------------------------------------------


def test_github_message_escaping() -> None:
    assert github_escape_data("100% bad\r\nnext line %0A") == "100%25 bad%0D%0Anext line %250A"
    assert github_escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    finding = Finding("models/m.yaml", Position(2, 5), "schema", Severity.ERROR, "100% bad\r\nnext line %0A")
    line = github_annotation(finding)
    # A line break in a value is shown, escaped, on the one annotation line: it never splits it.
    assert line == (
        "::error file=models/m.yaml,line=2,col=5,title=cam-gitops [schema]::100%25 bad\\u000d\\u000anext line %250A"
    )
    assert "\n" not in line and "\r" not in line


def test_github_property_escaping() -> None:
    finding = Finding("models/a:b,c%.yaml", Position(1, 1), "parse", Severity.ERROR, "x: y, z")
    line = github_annotation(finding)
    props, message = line[len("::error ") :].split("::", 1)
    assert props.split(",")[0] == "file=models/a%3Ab%2Cc%25.yaml"
    assert message == "x: y, z", "':' and ',' are escaped in properties only"
    assert len(props.split(",")) == 4


def test_github_warning_command() -> None:
    finding = Finding("models/m.yaml", Position(1, 1), "parse", Severity.WARNING, "BOM")
    assert github_annotation(finding).startswith("::warning file=models/m.yaml,line=1,col=1,")


def test_github_is_chosen_on_actions_and_an_explicit_format_wins(
    findings_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(findings_repo)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert all(line.startswith(("::error ", "::warning ")) for line in lines[:-1])
    assert any(line.startswith("::warning file=models/bom.yaml,line=1,col=1,") for line in lines)
    assert "file=models/retail/low seed.yaml,line=4,col=22," in result.output
    assert lines[-1].startswith("checked 6 files: ")
    explicit = CliRunner().invoke(cli, ["check", "--format", "text"])
    assert not explicit.output.startswith("::")
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert not CliRunner().invoke(cli, ["check"]).output.startswith("::")


def test_plan_github_annotations() -> None:
    text = plan_github(plan_changes(), Style())
    lines = text.splitlines()
    assert lines[0].startswith("::warning file=models/retail/spring.yaml,line=1,col=1,title=cam-gitops [plan-update]::")
    assert any(line.startswith("::error file=models/retail/winter.yaml,") for line in lines)
    assert lines[-1] == "Plan: 3 to update, 2 unchanged, 3 errors, 1 refused, 1 retarget, 2 unmanaged, 1 ignored."
    assert any("[allowed-shared-audience-metrics]" in line and "live value" in line for line in lines)


# --- snapshots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_snapshot(name: str) -> None:
    path = SNAPSHOT_DIR / name
    assert path.exists(), f"{path} is missing; create it with `{UPDATE_COMMAND}`"
    expected = path.read_text(encoding="utf-8")
    actual = SNAPSHOTS[name]()
    assert actual == expected, (
        f"{name} differs from tests/snapshots/{name}. If the change is intended, run `{UPDATE_COMMAND}` "
        "and review the diff of tests/snapshots/."
    )


def test_every_snapshot_file_has_a_case() -> None:
    assert sorted(p.name for p in SNAPSHOT_DIR.iterdir()) == sorted(SNAPSHOTS)


def test_snapshot_json_parses() -> None:
    assert json.loads(SNAPSHOTS["plan.json"]())["summary"] == {
        "update": 3,
        "no_op": 2,
        "errors": 3,
        "refused": 1,
        "retarget": 1,
        "unmanaged": 2,
        "ignored": 1,
    }
    assert json.loads(SNAPSHOTS["apply.json"]())["failed"] is True


def _updates(count: int, path_length: int = 0) -> list[Change]:
    padding = "x" * path_length
    return [
        Change(
            f"models/team-{i % 40}/{padding}model-{i:04d}.yaml",
            arn(f"model-{i:04d}"),
            UPDATE,
            (
                FieldChange("minMatchingSeedSize", 500, 1000),
                FieldChange("outputConfig.destination.s3Destination.s3Uri", f"s3://a/{i}/", f"s3://b/{i}/"),
                FieldChange("audienceSizeConfig.audienceSizeBins", [1000, 5000], [1000, 5000, 10000]),
            ),
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("path_length", [0, 400])
def test_markdown_of_a_huge_plan_fits_a_comment(path_length: int) -> None:
    markdown = plan_markdown(_updates(2000, path_length), Style())
    assert len(markdown) < 65_536
    assert len(markdown) <= MARKDOWN_LIMIT
    assert "**2000 to update, 0 unchanged, 0 errors**" in markdown
    assert "more; see the full plan artifact (`--format json`)" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| :pencil2: |")]
    hidden = 2000 - len(rows)
    assert 0 < len(rows) <= 200
    assert f"... and {hidden} more; see the full plan artifact" in markdown
    assert markdown.rstrip().endswith("</sub>")


def test_markdown_of_one_huge_error_fits_a_comment() -> None:
    change = Change("models/m.yaml", arn("m"), "error", error="AccessDeniedException: " + "x" * 200_000)
    markdown = plan_markdown([change], Style())
    assert len(markdown) <= MARKDOWN_LIMIT
    assert "Details of 1 more model are too long for a comment" in markdown


def test_markdown_of_a_small_plan_has_no_ellipsis() -> None:
    markdown = SNAPSHOTS["plan.md"]()
    assert "more; see the full plan artifact" not in markdown
    assert markdown.count("<details>") == 12  # every model has a diff, an error, a note or live-only fields


def test_markdown_escapes_table_cells() -> None:
    change = Change("models/a|b <x>.yaml", arn("m"), UPDATE, (FieldChange("description", "a | b", "c`d"),))
    markdown = plan_markdown([change], Style())
    assert "| `models/a\\|b <x>.yaml` |" in markdown
    assert "<code>models/a|b &lt;x&gt;.yaml</code>" in markdown
    # A backtick in a value is shown as it is: the code span's fence is longer than any run in it.
    assert '| `description` | `"a \\| b"` | ``"c`d"`` |' in markdown


# --- --output -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(CHECK_REPORTERS))
def test_output_file_for_every_check_format(fmt: str, findings_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    to_stdout = invoke(findings_repo, monkeypatch, "check", "--format", fmt)
    (findings_repo / "reports").mkdir()
    (findings_repo / "reports" / f"check.{fmt}").write_text("stale content that must be replaced\n")
    to_file = invoke(findings_repo, monkeypatch, "check", "--format", fmt, "--output", f"reports/check.{fmt}")
    assert to_file.exit_code == to_stdout.exit_code == 1
    assert to_file.output == ""
    assert (findings_repo / "reports" / f"check.{fmt}").read_text(encoding="utf-8") == to_stdout.output
    assert sorted(p.name for p in (findings_repo / "reports").iterdir()) == [f"check.{fmt}"], "no temp file left"


def test_output_creates_folders_and_never_colours(findings_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module.sys.stdout, "isatty", lambda: True, raising=False)
    result = invoke(findings_repo, monkeypatch, "check", "-o", "deep/er/report.txt")
    assert result.output == ""
    written = (findings_repo / "deep/er/report.txt").read_text(encoding="utf-8")
    assert ANSI not in written and "checked 6 files" in written


def test_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cam_gitops.workspace import files as app

    target = tmp_path / "report.json"
    target.write_text("old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(app.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        app.write_output("new\n", str(target))
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


# --- colour ---------------------------------------------------------------------------------------


def _result() -> CheckResult:
    return CheckResult(
        2,
        [
            Finding("models/m.yaml", Position(4, 22), "schema", Severity.ERROR, "bad"),
            Finding("models/n.yaml", Position(1, 1), "parse", Severity.WARNING, "BOM"),
        ],
    )


def test_style_paints_only_when_colour_is_on() -> None:
    assert ANSI in Style(color=True).paint("x", "red")
    assert Style(color=False).paint("x", "red", bold=True) == "x"
    coloured = check_text(_result(), Style(color=True))
    plain = check_text(_result(), Style(color=False))
    assert ANSI in coloured and ANSI not in plain
    assert (
        plain == "models/m.yaml:4:22: error [schema] bad\nmodels/n.yaml:1:1: warning [parse] BOM\n"
        "checked 2 files: 1 error, 1 warning\n"
    )
    for name, reporter in CHECK_REPORTERS.items():
        if name != "text":
            assert ANSI not in reporter(_result(), Style(color=True)), f"{name} must never carry colour"


@pytest.mark.parametrize(
    ("tty", "no_color_env", "no_color_flag", "output", "expected"),
    [
        (True, False, False, None, True),
        (False, False, False, None, False),
        (True, True, False, None, False),
        (True, False, True, None, False),
        (True, False, False, "report.txt", False),
    ],
)
def test_use_color(
    monkeypatch: pytest.MonkeyPatch,
    tty: bool,
    no_color_env: bool,
    no_color_flag: bool,
    output: str | None,
    expected: bool,
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty, raising=False)
    if no_color_env:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli_module._use_color(no_color_flag, output) is expected


def _run_on_a_terminal(root: Path, *args: str, env: dict[str, str]) -> str:
    primary, secondary = pty.openpty()
    try:
        completed = subprocess.run(
            [CAM_GITOPS, *args],
            cwd=root,
            env=env,
            stdout=secondary,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        os.close(secondary)
        secondary = -1
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    assert completed.returncode == 1, completed.stderr
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_real_terminal_only(findings_repo: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "GITHUB_ACTIONS", "CI")}
    assert ANSI in _run_on_a_terminal(findings_repo, "check", env=env)
    assert ANSI not in _run_on_a_terminal(findings_repo, "check", env={**env, "NO_COLOR": "1"})
    assert ANSI not in _run_on_a_terminal(findings_repo, "check", "--no-color", env=env)
    piped = subprocess.run(
        [CAM_GITOPS, "check"], cwd=findings_repo, env=env, capture_output=True, text=True, timeout=60
    )
    assert piped.returncode == 1 and ANSI not in piped.stdout and "checked 6 files" in piped.stdout
