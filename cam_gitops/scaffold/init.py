"""`cam-gitops init`: write what a repository needs to adopt cam-gitops, never overwriting a file.

The project folder is the current folder: the git root, or a subfolder of a larger repository
(a monorepo). policy.yaml, models/, schemas/ and iam/ go to the project folder; the CI files
and .pre-commit-config.yaml go to the git root, where GitHub, GitLab and pre-commit look.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cam_gitops import __version__
from cam_gitops.check.version import describe, is_release
from cam_gitops.exitcodes import OK, USAGE
from cam_gitops.scaffold import render

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_ACCOUNT = re.compile(r"[0-9]{12}")
_GITHUB_REMOTE = re.compile(r"github\.com[:/](?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
_GIT_SOURCE = re.compile(r"git\+https://[A-Za-z0-9._~:/%@-]+")
SCHEMAS = ("configured-audience-model.schema.json", "policy.schema.json")


@dataclass(frozen=True)
class InitOptions:
    """What `cam-gitops init` was asked for."""

    folder: Path
    ci: str = "github"
    github_repo: str | None = None
    account: str | None = None
    source: str = render.INDEX_SOURCE
    version: str = __version__


@dataclass
class InitReport:
    """Each file written or kept, what to do next, and the exit code."""

    lines: list[str] = field(default_factory=list)
    exit_code: int = OK


class InitError(Exception):
    """A usage problem: not a git repository, a malformed option value."""


def run_init(options: InitOptions) -> InitReport:
    """Write the adopter's files under options.folder and its git root; never overwrite one."""
    try:
        context, git_root = _context(options)
    except InitError as exc:
        return InitReport([f"cam-gitops init: {exc}"], USAGE)
    report = InitReport()
    if not is_release(options.version):
        report.lines += [
            f"warning: cam-gitops {describe(options.version)} is not a release: the pins below name "
            f"v{options.version}, which no tag names. Install a release and run init again, or edit "
            "required-version in policy.yaml and rev in .pre-commit-config.yaml.",
            "",
        ]
    for path, text in _files(context, options.ci).items():
        _write(git_root, path, text, report)
    config = git_root / ".pre-commit-config.yaml"
    kept = any(line.startswith("kept") and line.split()[1] == config.name for line in report.lines)
    if kept and "cam-gitops-check" not in config.read_text(encoding="utf-8", errors="replace"):
        report.lines += [
            "",
            "Add the hook to the repos: list of .pre-commit-config.yaml (it was kept as it is):",
            *("    " + line for line in render.hook_entry(context).splitlines()),
        ]
    report.lines += ["", *_next_steps(context, options)]
    return report


def _context(options: InitOptions) -> tuple[render.Context, Path]:
    if options.ci not in ("github", "gitlab"):
        raise InitError(f"--ci {options.ci}: choose github or gitlab")
    folder = options.folder.resolve()
    git_root = _git_root(folder)
    prefix = Path(os.path.relpath(folder, git_root)).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    if options.github_repo is not None and not _REPO.fullmatch(options.github_repo):
        raise InitError(f"--github-repo {options.github_repo!r}: give OWNER/REPO, e.g. acme/audiences")
    if options.account is not None and not _ACCOUNT.fullmatch(options.account):
        raise InitError(f"--account {options.account!r}: give the 12-digit AWS account id")
    if options.source != render.INDEX_SOURCE and not _GIT_SOURCE.fullmatch(options.source):
        raise InitError(
            f"--source {options.source!r}: give {render.INDEX_SOURCE} (the package index) "
            "or a git URL, git+https://HOST/OWNER/cam-gitops"
        )
    try:
        context = render.Context(
            version=options.version,
            prefix=prefix,
            source=options.source,
            github_repo=options.github_repo or _origin_repo(git_root) or render.EXAMPLE_REPO,
            account=options.account or render.EXAMPLE_ACCOUNT,
            account_given=options.account is not None,
        )
    except ValueError as exc:
        raise InitError(f"the project folder {prefix}: {exc}; rename it or run init elsewhere") from None
    return context, git_root


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise InitError("git is not installed; cam-gitops init works in a git repository") from None
    return done.stdout.strip() if done.returncode == 0 else None


def _git_root(folder: Path) -> Path:
    top = _git(folder, "rev-parse", "--show-toplevel")
    if not top:
        raise InitError(f"{folder} is not in a git repository: run `git init` first (or cd into one)")
    return Path(top).resolve()


def _origin_repo(git_root: Path) -> str | None:
    """OWNER/REPO of a GitHub `origin` remote, so the trust policy names the right repository."""
    url = _git(git_root, "remote", "get-url", "origin") or ""
    found = _GITHUB_REMOTE.search(url)
    return found["repo"] if found else None


def _files(context: render.Context, ci: str) -> dict[str, str]:
    """Every file init writes, keyed by its path from the git root."""
    from cam_gitops.check.schema import schema_dir

    here = context.prefix
    files = {
        f"{here}policy.yaml": render.policy_yaml(context),
        f"{here}models/README.md": render.models_readme(),
    }
    for name in SCHEMAS:
        files[f"{here}schemas/{name}"] = (schema_dir() / name).read_text(encoding="utf-8")
    files[".pre-commit-config.yaml"] = render.pre_commit_config(context)
    iam = render.iam_documents(context)
    if ci == "github":
        files.update(render.github_workflows(context))
    else:
        name = f".gitlab/{context.group}ci.yml" if here else ".gitlab-ci.yml"
        files[name] = render.gitlab_ci(context)
        del iam["trust-policy-github-oidc.json"]  # GitHub's; GitLab's trust is in the README
    files.update({f"{here}iam/{name}": text for name, text in iam.items()})
    return files


def _write(git_root: Path, relative: str, text: str, report: InitReport) -> None:
    path = git_root / relative
    if os.path.lexists(path):
        report.lines.append(f"kept     {relative} (exists; left as it is)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8", newline="\n") as handle:  # never replaces a file
        handle.write(text)
    report.lines.append(f"written  {relative}")


def _next_steps(context: render.Context, options: InitOptions) -> list[str]:
    # init runs in the project folder, and so do the commands below; CODEOWNERS paths are
    # from the repository root.
    here = "./"
    cd = ""
    steps = [
        "Next steps:",
        f"  1. Read {here}policy.yaml and set the rules marked for your organisation (buckets, regions, roles).",
        "  2. Bring in the models already live in AWS (read access to that account is enough):",
        f"       {cd}cam-gitops import --all        (--region REGION for each further region)",
        "     cam-gitops does not create models: create one in AWS, then import it.",
        f"  3. {cd}cam-gitops check",
        "  4. pre-commit install             (the hook checks model files on every commit)",
    ]
    if options.ci == "github":
        iam = f"{here}iam/"
        steps += [
            f"  5. AWS: the GitHub OIDC provider and two roles from {iam} (README: IAM roles).",
            "  6. GitHub settings:",
            "       Environments > New environment `production`: deployment branches `main` only",
            "         (required reviewers optional); the apply role trusts only that environment.",
            "       Variables: CAM_GITOPS_PLAN_ROLE_ARN, CAM_GITOPS_APPLY_ROLE_ARN, AWS_REGION;",
            "         models in several accounts: CAM_GITOPS_{PLAN,APPLY}_ROLE_ARN_TEMPLATE too.",
            "       Protect main: require the `lint` and `plan` checks and pull request reviews;",
            f"       CODEOWNERS for /{context.prefix}policy.yaml and /.github/workflows/ with code owner review.",
        ]
        if context.github_repo == render.EXAMPLE_REPO:
            steps.append(f"     ({iam}trust-policy-github-oidc.json names OWNER/REPO: use --github-repo next time.)")
    else:
        steps += [
            f"  5. AWS: the GitLab OIDC provider and two roles with the policies in {here}iam/ (README: GitLab CI).",
            "  6. GitLab: CI/CD variables CAM_GITOPS_PLAN_ROLE_ARN, CAM_GITOPS_APPLY_ROLE_ARN (protected),",
            "     AWS_REGION (several accounts: CAM_GITOPS_{PLAN,APPLY}_ROLE_ARN_TEMPLATE too);",
            "     protect main; a daily pipeline schedule for drift.",
        ]
        if context.prefix:
            steps.append(f"     Merge .gitlab/{context.group}ci.yml into .gitlab-ci.yml (or rename it: you have none).")
    steps.append("  7. Commit, push, and open a pull request: its plan comment shows what the first merge applies.")
    return steps
