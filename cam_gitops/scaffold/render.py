"""The files `cam-gitops init` writes, rendered from the templates beside this module.

The templates are the one source of the shipped CI files: this repository's own workflows,
GitLab example and IAM documents are these templates rendered for it (a test holds them equal).

A template names values as %%name%%. A line holding only a placeholder takes a block: each line
of the value is indented like the placeholder, and an empty value removes the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

# Where the pre-commit hook is fetched from unless `init --source` names a git URL.
PROJECT_URL = "https://github.com/cam-gitops/cam-gitops"
INDEX_SOURCE = "cam-gitops"  # CI installs `cam-gitops<required-version>` from the package index
EXAMPLE_ACCOUNT = "111122223333"
EXAMPLE_REPO = "OWNER/REPO"

_PLACEHOLDER = re.compile(r"%%(\w+)%%")
_BLOCK = re.compile(r"^(?P<indent>[ ]*)%%(?P<name>\w+)%%[ ]*$")
_PREFIX = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9._-]*/)*")


class TemplateError(Exception):
    """A template names a value the context does not have (a bug in the scaffold)."""


@dataclass(frozen=True)
class Context:
    """What the rendered files depend on.

    prefix: the project folder (policy.yaml, models/) relative to the git root, with a trailing
    slash; empty when the project is the git root.
    """

    version: str = "0.0"
    prefix: str = ""
    source: str = INDEX_SOURCE
    github_repo: str = EXAMPLE_REPO
    account: str = EXAMPLE_ACCOUNT
    account_given: bool = False

    def __post_init__(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError(f"{self.prefix!r}: not a folder path of letters, digits, '.', '_' and '-'")

    @property
    def folder(self) -> str:
        return self.prefix.rstrip("/")

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.folder.lower()).strip("-")

    @property
    def group(self) -> str:
        """Prefix of concurrency groups, artifacts, markers and file names."""
        return f"cam-gitops-{self.slug}-" if self.prefix else "cam-gitops-"

    @property
    def hook_repo(self) -> str:
        return self.source[len("git+") :] if self.source.startswith("git+") else PROJECT_URL

    def workflow_name(self, moment: str) -> str:
        """File name of a GitHub workflow under .github/workflows/."""
        return f"{self.group}{moment}.yml" if self.prefix else f"{moment}.yml"


def template(name: str) -> str:
    return resources.files("cam_gitops.scaffold").joinpath("templates", name).read_text(encoding="utf-8")


def render_text(text: str, values: dict[str, str]) -> str:
    """Fill the placeholders of a template text."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        block = _BLOCK.match(line.rstrip("\n"))
        if block:
            value = _lookup(values, block["name"])
            indent = block["indent"]
            out += [(indent + part if part else "") + "\n" for part in value.splitlines()]
            continue
        out.append(_PLACEHOLDER.sub(lambda m: _inline(values, m[1]), line))
    return "".join(out)


def _lookup(values: dict[str, str], name: str) -> str:
    if name not in values:
        raise TemplateError(f"template value {name!r} is not defined")
    return values[name]


def _inline(values: dict[str, str], name: str) -> str:
    value = _lookup(values, name)
    if "\n" in value.rstrip("\n"):
        raise TemplateError(f"template value {name!r} spans lines; put it on a line of its own")
    return value


def _install(pin_from: str, error: str) -> str:
    return render_text(template("install.sh"), {"pin_from": pin_from, "error": error}).rstrip("\n")


def _common(context: Context) -> dict[str, str]:
    folder = context.folder
    return {
        "version": context.version,
        "source": context.source,
        "dir": context.prefix,
        "group": context.group,
        "name": f"cam-gitops {folder} " if folder else "",
        "project_note": (
            f"# Project folder: {context.prefix} (policy.yaml and models/); every step runs there.\n" if folder else ""
        ),
        "defaults": f"defaults:\n  run:\n    working-directory: {folder}" if folder else "",
        # code scanning maps SARIF paths from the repository root: run that check from there,
        # on the project folder, so its paths name teams/x/models/... and not models/...
        "sarif_path": f" {folder}" if folder else "",
        "account": context.account,
        "github_repo": context.github_repo,
    }


def _changes_job(context: Context) -> str:
    if not context.prefix:
        return ""
    own = f".github/workflows/{context.group}*"
    return (
        render_text(
            """changes:
  name: changes
  runs-on: ubuntu-latest
  timeout-minutes: 5
  permissions:
    contents: read
  outputs:
    touched: ${{ steps.diff.outputs.touched }}
  steps:
    - name: Checkout
      uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      with:
        fetch-depth: 0
        persist-credentials: false

    # lint and plan are skipped (a success for a required check) only on an explicit
    # "false": when this step fails, they run.
    - name: Does this pull request touch %%prefix%%?
      id: diff
      env:
        BASE_SHA: ${{ github.event.pull_request.base.sha }}
        HEAD_SHA: ${{ github.event.pull_request.head.sha }}
      run: |
        if git diff --quiet "$BASE_SHA...$HEAD_SHA" -- '%%prefix%%' '%%own%%' .pre-commit-config.yaml; then
          echo "touched=false" >> "$GITHUB_OUTPUT"
        else
          echo "touched=true" >> "$GITHUB_OUTPUT"
        fi
""",
            {"prefix": context.prefix, "own": own},
        ).rstrip("\n")
        + "\n\n"
    )  # a blank line before the next job


def _changes_needs(context: Context) -> str:
    if not context.prefix:
        return ""
    return (
        "needs: changes\n"
        f"# Skipped (a success) only when the pull request does not touch {context.prefix}\n"
        "if: ${{ !cancelled() && needs.changes.outputs.touched != 'false' }}"
    )


def _apply_steps(context: Context, values: dict[str, str], heal: bool) -> str:
    return render_text(
        template("apply-steps.yml"),
        {
            **values,
            "checkout_ref": "ref: main # main's tip, whichever commit the schedule started from" if heal else "",
            "session": f"{context.group}{'heal' if heal else 'apply'}",
            "report_name": f"{context.group}{'heal' if heal else 'apply'}-report",
        },
    ).rstrip("\n")


def github_workflows(context: Context) -> dict[str, str]:
    """The three workflows, keyed by their path from the git root."""
    values = _common(context)
    head = _install("the commit this run is for.", "::error::")
    pr = _install("the BASE branch, so a pull request cannot choose the code that judges it.", "::error::")
    values.update(
        install_head=head,
        install_pr=pr + '\necho "required=${spec}" >> "$GITHUB_OUTPUT"',
        changes_job=_changes_job(context),
        changes_needs=_changes_needs(context),
        push_paths=(
            f'paths:\n  - "{context.prefix}**"\n  - ".github/workflows/{context.workflow_name("apply")}"'
            if context.prefix
            else ""
        ),
        drift_label=f"cam-gitops-drift-{context.slug}" if context.prefix else "cam-gitops-drift",
        title_suffix=f" ({context.prefix})" if context.prefix else "",
    )
    values["apply_steps"] = _apply_steps(context, values, heal=False)
    values["heal_steps"] = _apply_steps(context, values, heal=True)
    return {
        f".github/workflows/{context.workflow_name(moment)}": render_text(template(f"{moment}.yml"), values)
        for moment in ("check", "apply", "drift")
    }


def gitlab_ci(context: Context) -> str:
    """The GitLab CI file (a complete .gitlab-ci.yml)."""
    values = _common(context)
    changes = f'changes:\n  paths: ["{context.prefix}**/*"]' if context.prefix else ""
    values.update(
        cd=f'- cd "{context.folder}"' if context.prefix else "",
        install=_install("the target branch for merge requests, else this commit.", "cam-gitops: error: "),
        job=context.group if context.prefix else "",
        changes=changes,
        apply_changes=changes,
    )
    return render_text(template("gitlab-ci.yml"), values)


def iam_documents(context: Context) -> dict[str, str]:
    """The IAM policy documents, keyed by file name."""
    values = _common(context)
    return {
        name: render_text(template(name), values)
        for name in (
            "apply-role-policy.json",
            "plan-role-policy.json",
            "audit-s3-policy.json",
            "trust-policy-github-oidc.json",
        )
    }


def policy_yaml(context: Context) -> str:
    """A strict starting policy with every rule, commented, pinned to the installed release."""
    account = context.account
    if context.account_given:
        accounts = f'allowed-accounts: ["{account}"]'
        roles = f"allowed-role-arns:\n  - arn:aws:iam::{account}:role/cleanrooms-ml-audience-writer*"
    else:
        accounts = f'# allowed-accounts: ["{EXAMPLE_ACCOUNT}"]'
        roles = f"# allowed-role-arns:\n#   - arn:aws:iam::{EXAMPLE_ACCOUNT}:role/cleanrooms-ml-audience-writer*"
    values = {"version": context.version, "accounts_rule": accounts, "roles_rule": roles}
    return render_text(template("policy.yaml.tmpl"), values)


def pre_commit_config(context: Context) -> str:
    """A .pre-commit-config.yaml with the exported hook at the pinned release's tag."""
    return render_text(template("pre-commit-config.yaml"), {"hook_repo": context.hook_repo, "version": context.version})


def hook_entry(context: Context) -> str:
    """What to add to an existing .pre-commit-config.yaml (the repos: list item)."""
    return f"  - repo: {context.hook_repo}\n    rev: v{context.version}\n    hooks:\n      - id: cam-gitops-check\n"


def models_readme() -> str:
    return template("models-README.md")
