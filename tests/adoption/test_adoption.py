"""A platform team adopts cam-gitops in its own repository, as the README says, with nothing from
this repository but the wheel built from it:

install the wheel (non-editable, with the emulator extra) in a fresh virtualenv; start the
emulator from that install with five live models in two regions and two accounts; in a new git
repository (or a subfolder of a larger one): `cam-gitops init`, `import --all` with only the
default region set, then with `--region` and `--account` for the rest, `check`, `plan` (no-op);
change one model and merge it; run the `run:` steps of the generated apply workflow as a GitHub
runner would (the pinned release installed into the runner's own python from the wheel); `plan`
is a no-op again and the emulator holds the new value.

Every cam-gitops command runs with only the environment the emulator's banner prints, PATH to
the virtualenv, and a throwaway HOME (so no AWS config, git config or pip setting of this
machine's). The release is built once a session, when the tests are collected, and installed
while the other tests run (conftest.py); each flow then takes 10 to 25 s.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from adoption_support import SYSTEM_PATH, Release, run
from emulator_fixtures import EmulatorProcess
from workflow_steps import Runner, load_workflow

pytestmark = pytest.mark.e2e

A = "111122223333"
B = "444455556666"
REPO = "acme/audiences"
ROLE_TEMPLATE = "arn:aws:iam::{account}:role/cam-gitops-apply"


def _cam(arn_region: str, account: str, cam_id: str, name: str, description: str, s3: str, seed: int) -> str:
    am = "retail" if account == A else "travel"
    return f"""\
  - configuredAudienceModelArn: arn:aws:cleanrooms-ml:{arn_region}:{account}:configured-audience-model/{cam_id}
    name: {name}
    description: {description}
    audienceModelArn: arn:aws:cleanrooms-ml:{arn_region}:{account}:audience-model/am-{am}
    outputConfig:
      destination: {{s3Destination: {{s3Uri: "{s3}"}}}}
      roleArn: arn:aws:iam::{account}:role/cleanrooms-ml-audience-writer
    sharedAudienceMetrics: [NONE]
    minMatchingSeedSize: {seed}
    audienceSizeConfig: {{audienceSizeType: ABSOLUTE, audienceSizeBins: [50000, 100000]}}
    tags: {{team: {am}}}
"""


# Five live models: three in account A (two in us-east-1, one in eu-west-1), two in account B
# (one in each region). Each meets init's strict policy once account B is allowed.
SEED = "configuredAudienceModels:\n" + "".join(
    [
        _cam("us-east-1", A, "a-spring", "spring-lookalike", "Spring lookalikes (owner retail)",
             "s3://acme-audiences/us/spring/", 1500),
        _cam("us-east-1", A, "a-winback", "loyalty-winback", "Lapsed loyalty members (owner crm)",
             "s3://acme-audiences/us/winback/", 2000),
        _cam("eu-west-1", A, "a-sports", "sports-fans", "Sports fans in the EU (owner media)",
             "s3://acme-audiences-eu/eu/sports/", 1000),
        _cam("us-east-1", B, "b-flyers", "frequent-flyers", "Frequent flyers (owner travel)",
             "s3://acme-travel/us/flyers/", 3000),
        _cam("eu-west-1", B, "b-hotels", "hotel-stays", "Hotel stays in the EU (owner travel)",
             "s3://acme-travel/eu/hotels/", 1200),
    ]
)  # fmt: skip
SPRING_ARN = f"arn:aws:cleanrooms-ml:us-east-1:{A}:configured-audience-model/a-spring"


@dataclass
class Laptop:
    """The adopter's shell: the installed release, the emulator's environment, a throwaway HOME."""

    env: dict[str, str]

    def sh(self, cwd: Path, *args: str) -> str:
        return run(list(args), cwd, self.env)

    def cam(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["cam-gitops", *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
            check=False,
        )


def throwaway_home(path: Path) -> Path:
    """A HOME with only a git identity: no AWS config, no pip or git setting of this machine's."""
    path.mkdir(parents=True)
    (path / ".gitconfig").write_text(
        "[user]\n\tname = Platform Team\n\temail = platform@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    return path


def laptop_env(release: Release, home: Path, exports: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.pathsep.join([str(release.bin), SYSTEM_PATH]),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),  # neither exists
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        **exports,
    }


def model_files(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "models").glob("*.yaml"))


@pytest.mark.parametrize("folder", ["", "teams/audiences"], ids=["repository-root", "monorepo-subfolder"])
def test_a_team_adopts_cam_gitops_from_the_wheel(
    release: Release, start_emulator: Callable[..., EmulatorProcess], tmp_path: Path, folder: str
) -> None:
    # -- the install: the wheel's own cam_gitops, never this repository's --------------------------
    home = throwaway_home(tmp_path / "home")
    bare_env = {"PATH": os.pathsep.join([str(release.bin), SYSTEM_PATH]), "HOME": str(home)}
    where = run([release.bin / "python", "-c", "import cam_gitops; print(cam_gitops.__file__)"], tmp_path, bare_env)
    assert Path(where.strip()).is_relative_to(release.venv), where
    assert run([release.bin / "cam-gitops", "--version"], tmp_path, bare_env).strip() == (
        f"cam-gitops, version {release.version}"
    )

    # -- the live state, from the emulator of that install ------------------------------------------
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED, encoding="utf-8")
    emulator = start_emulator(release.bin, "--seed", str(seed), "--account", A, env=bare_env)
    assert emulator.banner[0].startswith(f"# cam-gitops emulator for account {A}, region us-east-1")
    exports = emulator.exports
    assert set(exports) == {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    }, emulator.banner
    laptop = Laptop(laptop_env(release, home, exports))

    # -- a new repository (a larger one for the subfolder), init, commit ----------------------------
    origin = tmp_path / "origin.git"
    laptop.sh(tmp_path, "git", "init", "-q", "--bare", str(origin))
    repo = tmp_path / "repo"
    repo.mkdir()
    laptop.sh(repo, "git", "init", "-q")
    laptop.sh(repo, "git", "remote", "add", "origin", str(origin))
    if folder:
        (repo / "README.md").write_text("# Acme monorepo\n", encoding="utf-8")
        (repo / "services" / "web").mkdir(parents=True)
        (repo / "services" / "web" / "app.py").write_text("print('hello')\n", encoding="utf-8")
        (repo / ".github" / "workflows").mkdir(parents=True)
        (repo / ".github" / "workflows" / "build.yml").write_text(
            "name: build\non: push\npermissions: {}\njobs: {}\n", encoding="utf-8"
        )
        laptop.sh(repo, "git", "add", "-A")
        laptop.sh(repo, "git", "commit", "-qm", "The monorepo before cam-gitops")
    else:
        assert list(repo.iterdir()) == [repo / ".git"]  # no files at all
    project = repo / folder
    project.mkdir(parents=True, exist_ok=True)

    done = laptop.cam(project, "init", "--account", A, "--github-repo", REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    workflows = ".github/workflows/" + ("cam-gitops-teams-audiences-" if folder else "")
    here = f"{folder}/" if folder else ""  # init names paths from the git root
    for path in ("policy.yaml", "models/README.md", "schemas/configured-audience-model.schema.json"):
        assert f"written  {here}{path}\n" in done.stdout
    for path in (f"{workflows}check.yml", f"{workflows}apply.yml", f"{workflows}drift.yml"):
        assert f"written  {path}\n" in done.stdout
    policy = project / "policy.yaml"
    assert f'required-version: "=={release.version}"' in policy.read_text(encoding="utf-8")
    laptop.sh(repo, "git", "add", "-A")
    laptop.sh(repo, "git", "commit", "-qm", "cam-gitops init")

    # -- bootstrap from live: the default region first ----------------------------------------------
    done = laptop.cam(project, "import", "--all")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"Listed account {A} in us-east-1 (the default region, from AWS_REGION; the repository has no model files)."
        in done.stdout
    )
    assert f"wrote models/spring-lookalike.yaml  {SPRING_ARN}" in done.stdout
    assert "Import: 2 written, 0 already managed, 0 failed." in done.stdout
    assert model_files(project) == ["loyalty-winback.yaml", "spring-lookalike.yaml"]

    # ... the other region of account A ...
    done = laptop.cam(project, "import", "--all", "--region", "eu-west-1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Listed account {A} in eu-west-1 (--region)." in done.stdout
    assert "Import: 1 written, 0 already managed, 0 failed." in done.stdout

    # ... and account B, through a role the emulator's STS lets account A assume (any role name
    # works there; in AWS, B's role must trust A's credentials).
    done = laptop.cam(project, "import", "--all", "--account", B, "--role-arn-template", ROLE_TEMPLATE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"Listed accounts {A}, {B} in eu-west-1, us-east-1 (the regions of the repository's model files)."
        in done.stdout
    )
    assert "Import: 2 written, 3 already managed, 0 failed." in done.stdout
    assert "2 imported file(s) break the policy" in done.stdout + done.stderr
    assert model_files(project) == [
        "frequent-flyers.yaml",
        "hotel-stays.yaml",
        "loyalty-winback.yaml",
        "sports-fans.yaml",
        "spring-lookalike.yaml",
    ]
    spring = project / "models" / "spring-lookalike.yaml"
    spring_text = spring.read_text(encoding="utf-8")
    assert spring_text.startswith("# yaml-language-server: $schema=../schemas/configured-audience-model.schema.json")
    assert "\ntags:\n  team: retail\n" in spring_text  # the live tags, managed from now on

    # -- check: the strict policy init wrote allows account A only; the team allows B too -----------
    done = laptop.cam(project, "check")
    assert done.returncode == 1, done.stdout + done.stderr
    pattern = (
        rf"^models/hotel-stays\.yaml:\d+:\d+: error \[allowed-accounts\] configuredAudienceModelArn is in account {B};"
    )
    assert re.search(pattern, done.stdout, re.M), done.stdout
    text = policy.read_text(encoding="utf-8")
    text = text.replace(f'allowed-accounts: ["{A}"]', f'allowed-accounts: ["{A}", "{B}"]')
    writer_a = f"    - arn:aws:iam::{A}:role/cleanrooms-ml-audience-writer*\n"
    assert writer_a in text
    text = text.replace(writer_a, writer_a + writer_a.replace(A, B))
    policy.write_text(text, encoding="utf-8")
    done = laptop.cam(project, "check")
    assert (done.returncode, done.stdout) == (0, "checked 5 files: no problems\n"), done.stderr

    # -- plan: the files are what runs --------------------------------------------------------------
    done = laptop.cam(project, "plan", "--detailed-exitcode", "--role-arn-template", ROLE_TEMPLATE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Plan: 0 to update, 5 unchanged, 0 errors." in done.stdout
    laptop.sh(repo, "git", "add", "-A")
    laptop.sh(repo, "git", "commit", "-qm", "Import the live models")
    laptop.sh(repo, "git", "push", "-q", "origin", "main")

    # -- one change, reviewed and merged ------------------------------------------------------------
    laptop.sh(repo, "git", "switch", "-q", "-c", "raise-seed")
    assert "minMatchingSeedSize: 1500\n" in spring_text
    spring.write_text(spring_text.replace("minMatchingSeedSize: 1500\n", "minMatchingSeedSize: 2500\n"), "utf-8")
    laptop.sh(repo, "git", "commit", "-qam", "Raise the seed floor of spring-lookalike")
    done = laptop.cam(project, "plan", "--detailed-exitcode", "--role-arn-template", ROLE_TEMPLATE)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "minMatchingSeedSize: 1500 -> 2500" in done.stdout
    laptop.sh(repo, "git", "switch", "-q", "main")
    laptop.sh(repo, "git", "merge", "-q", "--no-ff", "-m", "Merge pull request #1 from acme/raise-seed", "raise-seed")
    laptop.sh(repo, "git", "push", "-q", "origin", "main")

    # -- the push runs the generated apply workflow -------------------------------------------------
    report = run_apply_workflow(release, tmp_path / "runner", origin, repo / f"{workflows}apply.yml", exports, folder)
    results = {Path(r["path"]).name: r for r in report["results"]}
    assert sorted(results) == model_files(project)
    assert results["spring-lookalike.yaml"]["result"] == "applied"
    assert results["spring-lookalike.yaml"]["diff"] == {"minMatchingSeedSize": {"from": 1500, "to": 2500}}
    assert {name: r["result"] for name, r in results.items() if name != "spring-lookalike.yaml"} == dict.fromkeys(
        ["frequent-flyers.yaml", "hotel-stays.yaml", "loyalty-winback.yaml", "sports-fans.yaml"], "no-op"
    )
    assert report["failed"] is False

    # -- afterwards: nothing left to do, and AWS holds the new value --------------------------------
    done = laptop.cam(project, "plan", "--detailed-exitcode", "--role-arn-template", ROLE_TEMPLATE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Plan: 0 to update, 5 unchanged, 0 errors." in done.stdout
    read_back = (
        "import boto3, json, sys; "
        "print(json.dumps(boto3.client('cleanroomsml').get_configured_audience_model("
        "configuredAudienceModelArn=sys.argv[1])['minMatchingSeedSize']))"
    )
    assert run([release.bin / "python", "-c", read_back, SPRING_ARN], tmp_path, laptop.env).strip() == "2500"


def run_apply_workflow(
    release: Release, root: Path, origin: Path, workflow_path: Path, exports: dict[str, str], folder: str
) -> dict[str, Any]:
    """Run the `run:` steps of the apply job as a runner would for the push to main; the report.

    The runner's python is a second virtualenv, first on PATH, with no cam-gitops: the install
    step installs the release policy.yaml pins into it from the wheel's folder, with no package
    index (PIP_NO_INDEX, PIP_FIND_LINKS), the way CI installs it from the index.
    """
    root.mkdir()
    home = throwaway_home(root / "home")
    workspace = root / "work" / "audiences"
    runner_python = release.runner_python / "bin"
    env = {
        "PATH": os.pathsep.join([str(runner_python), SYSTEM_PATH]),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": "1",
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(root),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        # The "package index" of this runner: the wheel and its dependencies, nothing else.
        "PIP_FIND_LINKS": str(release.wheelhouse),
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
    }
    # The runner's python is shared by the tests of a session: what an earlier run installed
    # goes, so that the install step installs the pinned release (its dependencies may stay).
    run([runner_python / "python", "-m", "pip", "uninstall", "--quiet", "--yes", "cam-gitops"], root, env)
    missing = subprocess.run([runner_python / "python", "-c", "import cam_gitops"], cwd=root, env=env, check=False)
    assert missing.returncode != 0

    # What actions/checkout (fetch-depth: 0) does for a push: every branch fetched, so
    # origin/main is there for --require-tip, and the pushed commit checked out as main.
    run(["git", "clone", "-q", str(origin), str(workspace)], root, env)
    sha = run(["git", "rev-parse", "origin/main"], workspace, env).strip()
    run(["git", "checkout", "-q", "-B", "main", sha], workspace, env)
    env["GITHUB_SHA"] = sha

    workflow = load_workflow(workflow_path)
    assert workflow["env"]["CAM_GITOPS_SOURCE"] == "cam-gitops"  # the package index name, pinned per commit
    # The push to main starts the workflow: in a subfolder, only through its path filter.
    push = workflow[True]["push"]  # PyYAML reads the key `on` as true
    assert push["branches"] == ["main"]
    if folder:
        assert f"{folder}/**" in push["paths"]
    else:
        assert "paths" not in push
    job = workflow["jobs"]["apply"]
    assert job["if"] == "github.ref == 'refs/heads/main'" and env["GITHUB_REF"] == "refs/heads/main"
    if folder:
        assert job["defaults"]["run"]["working-directory"] == folder
    runner = Runner(
        workspace=workspace,
        temp=root,
        env=env,
        # Repository variables: a role per account, as for import above.
        variables={"CAM_GITOPS_APPLY_ROLE_ARN_TEMPLATE": ROLE_TEMPLATE},
        actions={
            # checkout: done above (clone, every branch, the pushed commit as main).
            "actions/checkout": {},
            # setup-python: puts a Python 3.11 first on PATH; here the runner's virtualenv is.
            "actions/setup-python": {},
            # configure-aws-credentials: trades the OIDC token for the apply role's credentials
            # and exports them with the region; here the emulator's environment stands for AWS.
            "aws-actions/configure-aws-credentials": exports,
            # upload-artifact: keeps apply-report.json; the test reads it where the step points.
            "actions/upload-artifact": {},
        },
    )
    steps = runner.run_job(workflow, "apply")
    log = "\n".join(f"--- {s.name} ({s.uses or s.returncode})\n{s.output}" for s in steps)
    assert [s.returncode for s in steps] == [0] * len(job["steps"]), log
    assert [s.name for s in steps] == [s["name"] for s in job["steps"]]
    by_name = {s.name: s for s in steps}
    install = by_name["Install cam-gitops (the release this commit pins)"]
    assert install.stdout.strip().endswith(f"cam-gitops, version {release.version}"), log
    where = run([runner_python / "python", "-c", "import cam_gitops; print(cam_gitops.__file__)"], root, env)
    assert Path(where.strip()).is_relative_to(release.runner_python), where
    assert by_name["cam-gitops check"].cwd == workspace / folder
    assert "checked 5 files" in by_name["cam-gitops check"].output, log
    apply = by_name["cam-gitops apply (reconcile every model)"]
    assert apply.cwd == workspace / folder
    assert re.search(r"Apply: 1 applied, 4 unchanged\.", apply.output), log

    upload = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    report_path = workspace / upload["with"]["path"]
    assert report_path == workspace / folder / "apply-report.json"
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    return report
