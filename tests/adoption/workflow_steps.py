"""Run the `run:` steps of one GitHub Actions job on this machine, as a runner would run them.

Only what the shipped workflows use is supported, and anything else fails loudly, so a template
that starts to rely on more makes the adoption test say so instead of passing by accident:

- each `run:` script goes to a file and runs as `bash -e FILE` (GitHub's default shell on
  Linux; `shell: bash` adds `--noprofile --norc -o pipefail`), in `working-directory` (the
  step's, else `defaults.run` of the job, else of the workflow) under GITHUB_WORKSPACE;
- env is the runner's, then the workflow's, the job's and the step's `env:`, with
  `${{ vars.NAME }}` (a repository variable; unset is "") and `${{ github.workspace }}`;
- GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY are files, and NAME=VALUE
  lines a step appends to GITHUB_ENV (directories to GITHUB_PATH) reach the later steps;
- a `uses:` step does not run: the caller says, per action, what it would have added to the
  environment of the later steps (an action the caller does not know fails the run);
- the first step that fails stops the job, as on a runner (`if:` on a `run:` step and
  `continue-on-error` are not supported).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_VARIABLE = re.compile(r"vars\.([A-Za-z_][A-Za-z0-9_]*)\Z")
_ENV_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)\Z")


class UnsupportedWorkflow(AssertionError):
    """The workflow uses something this runner does not emulate."""


@dataclass(frozen=True)
class StepResult:
    """One step: a `run:` step's exit code and output, or the action a `uses:` step names."""

    name: str
    uses: str = ""
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    cwd: Path | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Runner:
    """The machine a job runs on: its workspace, environment and repository variables.

    env is the runner's own environment (PATH with its python first, HOME, ...). actions maps
    an action (`owner/name`, without `@ref`) to the variables it adds for the later steps.
    """

    workspace: Path
    temp: Path
    env: Mapping[str, str]
    variables: Mapping[str, str] = field(default_factory=dict)
    actions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def run_job(self, workflow: Mapping[str, Any], job_id: str, timeout: float = 600) -> list[StepResult]:
        """Run the job's steps in order; stop at the first failing `run:` step."""
        job = workflow["jobs"][job_id]
        files = {name: self.temp / name.lower() for name in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
        for path in files.values():
            path.write_text("", encoding="utf-8")
        base = {
            **self.env,
            **{name: str(path) for name, path in files.items()},
            "GITHUB_WORKSPACE": str(self.workspace),
        }
        added: dict[str, str] = {}
        paths: list[str] = []
        results: list[StepResult] = []
        for index, step in enumerate(job["steps"]):
            name = str(step.get("name") or f"step {index + 1}")
            if "uses" in step:
                action = str(step["uses"]).split("@", 1)[0]
                if action not in self.actions:
                    raise UnsupportedWorkflow(f"step {name!r} uses {action}, which this runner does not know")
                added.update(self.actions[action])
                results.append(StepResult(name, uses=action))
                continue
            for key in ("if", "continue-on-error"):
                if key in step:
                    raise UnsupportedWorkflow(f"step {name!r}: `{key}:` on a run step is not supported")
            env = dict(base)
            env.update(added)
            for scope in (workflow.get("env"), job.get("env"), step.get("env")):
                env.update({str(k): self._expand(str(v), name) for k, v in (scope or {}).items()})
            env["PATH"] = os.pathsep.join([*reversed(paths), env["PATH"]])
            output = self.temp / f"github_output_{index}"
            output.write_text("", encoding="utf-8")
            env["GITHUB_OUTPUT"] = str(output)
            cwd = self._working_directory(workflow, job, step, name)
            script = self.temp / f"step_{index}.sh"
            script.write_text(self._expand(str(step["run"]), name, in_script=True), encoding="utf-8")
            shell = step.get("shell") or (job.get("defaults") or {}).get("run", {}).get("shell")
            command = {
                None: ["bash", "-e", str(script)],
                "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            }.get(shell)
            if command is None:
                raise UnsupportedWorkflow(f"step {name!r}: shell {shell!r} is not supported")
            done = subprocess.run(
                command,
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            results.append(
                StepResult(name, returncode=done.returncode, stdout=done.stdout, stderr=done.stderr, cwd=cwd)
            )
            if done.returncode != 0:
                break
            added.update(_env_file(files["GITHUB_ENV"]))
            paths = [line for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines() if line]
        return results

    def _expand(self, text: str, step: str, in_script: bool = False) -> str:
        def value(match: re.Match[str]) -> str:
            expression = match[1]
            if in_script:
                raise UnsupportedWorkflow(f"step {step!r}: ${{{{ {expression} }}}} in a run script")
            variable = _VARIABLE.match(expression)
            if variable:
                return self.variables.get(variable[1], "")
            if expression == "github.workspace":
                return str(self.workspace)
            raise UnsupportedWorkflow(f"step {step!r}: expression {expression!r} is not supported")

        return _EXPRESSION.sub(value, text)

    def _working_directory(
        self, workflow: Mapping[str, Any], job: Mapping[str, Any], step: Mapping[str, Any], name: str
    ) -> Path:
        folder = step.get("working-directory")
        for scope in (job, workflow):
            if folder is None:
                folder = ((scope.get("defaults") or {}).get("run") or {}).get("working-directory")
        path = self.workspace / self._expand(str(folder), name) if folder is not None else self.workspace
        if not path.is_dir():
            raise UnsupportedWorkflow(f"step {name!r}: working-directory {path} does not exist")
        return path


def _env_file(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line:
            continue
        pair = _ENV_LINE.match(line)
        if not pair:
            raise UnsupportedWorkflow(f"GITHUB_ENV line {line!r}: only NAME=VALUE lines are supported")
        found[pair[1]] = pair[2]
    return found


def load_workflow(path: Path) -> dict[Any, Any]:
    """A workflow file as data (PyYAML reads the key `on` as True)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a workflow"
    return data
