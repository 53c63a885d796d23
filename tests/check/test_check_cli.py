"""cam-gitops check through click's CliRunner: hostile input, rule ids, lines, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import ARN, VALID_MODEL, model_text, write_repo

from cam_gitops.cli import cli


def run_check(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(cli, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def violations(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, list[dict[str, object]]]:
    code, output = run_check(root, "--format", "json", *args, monkeypatch=monkeypatch)
    return code, json.loads(output)["violations"]


def only(found: list[dict[str, object]]) -> tuple[object, object, object]:
    assert len(found) == 1, found
    return found[0]["rule"], found[0]["line"], found[0]["column"]


# (case, file name, content, expected (rule, line, column), exit code)
HOSTILE = [
    ("invalid yaml", "m.yaml", "a: [1, 2\nb: 3\n", ("parse", 2, 2), 1),
    ("invalid json", "m.json", '{\n  "a": 1,\n}\n', ("parse", 3, 1), 1),
    ("duplicate key yaml", "m.yaml", VALID_MODEL + "minMatchingSeedSize: 2000\n", ("duplicate-key", 14, 1), 1),
    ("two documents", "m.yaml", VALID_MODEL + "---\na: 1\n", ("parse", 14, 1), 1),
    ("empty file", "m.yaml", "", ("parse", 1, 1), 1),
    ("only a comment", "m.yaml", "# nothing here\n", ("parse", 1, 1), 1),
    ("top level list", "m.yaml", "- a\n- b\n", ("parse", 1, 1), 1),
    ("top level scalar", "m.json", '"text"', ("parse", 1, 1), 1),
    ("non utf8", "m.yaml", b"description: caf\xe9\n", ("parse", 1, 17), 1),
    ("utf16", "m.yaml", "a: 1\n".encode("utf-16"), ("parse", 1, 1), 1),
    (
        "tag",
        "m.yaml",
        VALID_MODEL.replace("minMatchingSeedSize: 1500", "minMatchingSeedSize: !!int '1500'"),
        ("parse", 4, 22),
        1,
    ),
    ("alias", "m.yaml", "a: &anchor 1\nb: *anchor\n", ("parse", 1, 4), 1),
    ("tab indentation", "m.yaml", "outputConfig:\n\troleArn: x\n", ("parse", 2, 1), 1),
    (
        "quoted integer",
        "m.yaml",
        VALID_MODEL.replace("minMatchingSeedSize: 1500", 'minMatchingSeedSize: "1500"'),
        ("schema", 4, 22),
        1,
    ),
    (
        "float integer",
        "m.yaml",
        VALID_MODEL.replace("minMatchingSeedSize: 1500", "minMatchingSeedSize: 1500.0"),
        ("schema", 4, 22),
        1,
    ),
    (
        "yes for integer",
        "m.yaml",
        VALID_MODEL.replace("minMatchingSeedSize: 1500", "minMatchingSeedSize: yes"),
        ("schema", 4, 22),
        1,
    ),
    (
        "hex integer",
        "m.yaml",
        VALID_MODEL.replace("minMatchingSeedSize: 1500", "minMatchingSeedSize: 0x5DC"),
        ("schema", 4, 22),
        1,
    ),
    (
        "underscore integer",
        "m.yaml",
        VALID_MODEL.replace("minMatchingSeedSize: 1500", "minMatchingSeedSize: 1_500"),
        ("schema", 4, 22),
        1,
    ),
    ("unknown key", "m.yaml", VALID_MODEL + "minMatchingSeedSise: 1\n", ("schema", 14, 1), 1),
    ("wrong case", "m.yaml", VALID_MODEL.replace("minMatchingSeedSize:", "MinMatchingSeedSize:"), ("schema", 4, 1), 1),
    (
        "json float",
        "m.json",
        json.dumps({"configuredAudienceModelArn": ARN, "minMatchingSeedSize": 1500.0, "description": "x"}).replace(
            ", ", ",\n"
        ),
        ("schema", 2, 24),
        1,
    ),
    (
        "json duplicate",
        "m.json",
        f'{{"configuredAudienceModelArn": "{ARN}",\n "description": "a",\n "description": "b"}}',
        ("duplicate-key", 3, 2),
        1,
    ),
]


@pytest.mark.parametrize(("case", "name", "content", "expected", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_input_is_a_finding_never_a_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    name: str,
    content: str | bytes,
    expected: tuple[str, int, int],
    code: int,
) -> None:
    root = write_repo(tmp_path, {f"models/{name}": content}, policy={"rules": {}})
    exit_code, found = violations(root, monkeypatch)
    assert exit_code == code
    assert only(found) == expected
    assert found[0]["path"] == f"models/{name}"


def test_bom_is_a_warning_that_fails_only_with_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": b"\xef\xbb\xbf" + VALID_MODEL.encode()}, policy={"rules": {}})
    code, found = violations(root, monkeypatch)
    assert code == 0
    assert [(f["rule"], f["severity"], f["line"]) for f in found] == [("parse", "warning", 1)]
    assert violations(root, monkeypatch, "--strict")[0] == 1


def test_file_over_one_mebibyte_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = VALID_MODEL + "# " + "x" * (1024 * 1024) + "\n"
    root = write_repo(tmp_path, {"models/big.yaml": big}, policy={"rules": {}})
    code, found = violations(root, monkeypatch)
    assert code == 1
    assert only(found) == ("parse", 1, 1)
    assert "1 MiB" in str(found[0]["message"])


def test_messages_say_what_is_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = VALID_MODEL.replace("minMatchingSeedSize: 1500", 'minMatchingSeedSize: "1500"').replace(
        "minMatchingSeedSize:", "MinMatchingSeedSize:"
    )
    root = write_repo(
        tmp_path,
        {
            "models/m.yaml": text,
            "models/n.yaml": model_text(arn=ARN.replace("0001", "0002"), minMatchingSeedSize="1500"),
        },
        policy={"rules": {}},
    )
    code, output = run_check(root, monkeypatch=monkeypatch)
    assert code == 1
    assert (
        "models/m.yaml:4:1: error [schema] unknown key 'MinMatchingSeedSize'; "
        "did you mean 'minMatchingSeedSize'? (keys are case-sensitive)"
    ) in output
    assert 'minMatchingSeedSize must be an integer, got the quoted string "1500"; remove the quotes' in output
    assert output.rstrip().endswith("checked 2 files: 2 errors")


def test_valid_models_pass_with_a_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/a/m.yaml": VALID_MODEL})
    code, output = run_check(root, monkeypatch=monkeypatch)
    assert (code, output) == (0, "checked 1 file: no problems\n")


def test_json_report_shape_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/a/m.yaml": model_text(minMatchingSeedSize=100)})
    code, output = run_check(root, "--format", "json", str(root / "models/a/m.yaml"), monkeypatch=monkeypatch)
    report = json.loads(output)
    assert code == 1
    assert set(report) == {"files_checked", "violations"}
    assert report["files_checked"] == 1
    assert report["violations"] == [
        {
            "path": "models/a/m.yaml",
            "line": 4,
            "column": 22,
            "rule": "min-matching-seed-size",
            "severity": "error",
            "message": "minMatchingSeedSize is 100; policy requires at least 1000",
        },
    ]


def test_paths_limit_the_check_but_policy_change_checks_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(
        tmp_path,
        {
            "models/good.yaml": VALID_MODEL,
            "models/bad.yaml": model_text(arn=ARN.replace("0001", "0009"), minMatchingSeedSize=30),
        },
    )
    assert violations(root, monkeypatch, "models/good.yaml") == (0, [])
    code, found = violations(root, monkeypatch, "policy.yaml")
    assert code == 1 and [f["path"] for f in found] == ["models/bad.yaml"]
    code, found = violations(root, monkeypatch, "schemas/x.json") if (root / "schemas").exists() else (1, found)
    assert code == 1


def test_missing_path_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/good.yaml": VALID_MODEL})
    code, output = run_check(root, "models/missing.yaml", monkeypatch=monkeypatch)
    assert code == 4
    assert "models/missing.yaml: no such file or folder" in output


def test_not_a_model_file_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/notes.txt": "hello"})
    code, output = run_check(root, "models/notes.txt", monkeypatch=monkeypatch)
    assert code == 4
    assert "not a model file" in output


def test_duplicate_arn_is_an_error_in_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/a.yaml": VALID_MODEL, "models/b/copy.yaml": VALID_MODEL})
    code, found = violations(root, monkeypatch)
    assert code == 1
    assert [(f["path"], f["rule"], f["line"]) for f in found] == [
        ("models/a.yaml", "duplicate-arn", 1),
        ("models/b/copy.yaml", "duplicate-arn", 1),
    ]
    assert "also managed by models/b/copy.yaml" in str(found[0]["message"])


def test_symlink_out_of_the_repository_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(VALID_MODEL)
    root = write_repo(tmp_path / "repo", {})
    (root / "models").mkdir()
    os.symlink(outside, root / "models" / "link.yaml")
    code, found = violations(root, monkeypatch)
    assert code == 1
    assert only(found) == ("path", 1, 1)
    assert "outside the repository" in str(found[0]["message"])


def test_dotdot_path_out_of_the_repository_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "elsewhere.yaml").write_text(VALID_MODEL)
    root = write_repo(tmp_path / "repo", {"models/ok.yaml": VALID_MODEL.replace("0001", "0002")})
    code, found = violations(root, monkeypatch, "../elsewhere.yaml")
    assert code == 1
    assert [(f["path"], f["rule"]) for f in found] == [("../elsewhere.yaml", "path")]


def test_invalid_policy_exits_4_with_findings_on_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = "rules:\n  min-matching-seed-size: lots\n  allowed-acounts: ['1']\n"
    root = write_repo(tmp_path, {"models/m.yaml": VALID_MODEL}, policy=policy)
    code, found = violations(root, monkeypatch)
    assert code == 4
    assert [(f["path"], f["rule"], f["line"]) for f in found] == [
        ("policy.yaml", "policy", 2),
        ("policy.yaml", "policy", 3),
    ]
    assert "did you mean 'allowed-accounts'" in str(found[1]["message"])


def test_explicit_missing_policy_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": VALID_MODEL})
    code, output = run_check(root, "--policy", "nope.yaml", monkeypatch=monkeypatch)
    assert code == 4
    assert "policy file not found" in output


def test_without_a_policy_file_only_the_schema_runs_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=30)})
    (root / "policy.yaml").unlink()
    code, found = violations(root, monkeypatch)
    assert code == 0
    assert [(f["path"], f["rule"], f["severity"]) for f in found] == [("policy.yaml", "policy", "warning")]


def test_github_format_is_chosen_on_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": model_text(minMatchingSeedSize=100)})
    monkeypatch.chdir(root)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "::error file=models/m.yaml,line=4,col=22,title=cam-gitops [min-matching-seed-size]::"
        "minMatchingSeedSize is 100; policy requires at least 1000"
    )


def test_output_file_is_written_and_stdout_stays_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_repo(tmp_path, {"models/m.yaml": VALID_MODEL})
    code, output = run_check(root, "--format", "json", "--output", "out/report.json", monkeypatch=monkeypatch)
    assert (code, output) == (0, "")
    assert json.loads((root / "out/report.json").read_text())["files_checked"] == 1


def test_help_teaches_the_policy_keys() -> None:
    result = CliRunner().invoke(cli, ["check", "--help"])
    assert result.exit_code == 0
    for key in (
        "min-matching-seed-size",
        "allowed-s3-prefixes",
        "allowed-accounts",
        "allowed-regions",
        "allowed-role-arns",
        "allowed-shared-audience-metrics",
        "audience-size",
        "audience-size-ascending",
        "require-description",
        "overrides",
        "waivers",
    ):
        assert key in result.output


def test_duplicate_arn_output_grows_linearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = 1500
    root = write_repo(tmp_path, {f"models/m{i:04d}.yaml": VALID_MODEL for i in range(count)})
    code, output = run_check(root, "--format", "json", monkeypatch=monkeypatch)
    found = json.loads(output)["violations"]
    assert code == 1 and len(found) == count
    assert f"and {count - 4} more" in found[0]["message"]
    assert len(output) < count * 600  # a few hundred bytes per file, not one line per pair of files


def test_sarif_of_a_monorepo_project_names_paths_from_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what the generated check.yml runs from the repository root: code scanning maps paths from there
    (tmp_path / ".git").mkdir()
    write_repo(tmp_path / "teams/audiences", {"models/bad.yaml": model_text(minMatchingSeedSize=100)})
    (tmp_path / "teams/audiences/.git").rmdir()
    code, output = run_check(tmp_path, "--format", "sarif", "teams/audiences", monkeypatch=monkeypatch)
    assert code == 1
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in json.loads(output)["runs"][0]["results"]
        for location in result["locations"]
    }
    assert uris == {"teams/audiences/models/bad.yaml"}
