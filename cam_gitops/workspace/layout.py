"""Which files a run looks at: the project (policy.yaml + models/), and its model files.

One predicate says what a model file is (`is_model_path`) and one function selects the model
files of a run (`select`): check, plan, apply, drift, import and the pre-commit hook all go
through them, so every command sees the same files.

A project is the folder holding policy.yaml; in a monorepo it may be a subfolder of the git
repository. Paths inside a project (what policies, waivers and plans name) are relative to its
root; what a user reads is relative to the folder the command ran in (`Project.shown`).
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from cam_gitops.findings import Finding, Position, error, warning
from cam_gitops.loader import MODEL_SUFFIXES

MODELS_DIR = "models"
SCHEMAS_DIR = "schemas"
POLICY_FILE = "policy.yaml"


class UsageError(Exception):
    """A path, option or revision that cannot be used: exit code 4."""


class ModelFile(NamedTuple):
    """A model file: where it is on disk, and its path inside the project (with /)."""

    fs_path: Path
    display_path: str


@dataclass
class Selection:
    """The model files of a run, findings for paths that were refused or ignored, and
    whether every model file of the project is selected."""

    files: list[ModelFile] = field(default_factory=list)
    refused: list[Finding] = field(default_factory=list)
    complete: bool = False


class Project(NamedTuple):
    """A policy.yaml and the models/ beside it."""

    root: Path
    policy_path: Path
    policy_explicit: bool = False
    prefix: str = ""  # the root as seen from the folder the command ran in: "" or "team/"

    @property
    def models_dir(self) -> Path:
        """The folder of model files."""
        return self.root / MODELS_DIR

    @property
    def policy_display(self) -> str:
        """How findings name the policy file (inside the project, or as given)."""
        return display_path(self.root, self.policy_path)

    def shown(self, path: str) -> str:
        """A project path as the user reads it: relative to the folder the command ran in."""
        return self.prefix + path if path else path

    def relative(self, path: Path) -> str:
        """A path inside the project as policies name it."""
        return display_path(self.root, path)


def is_model_path(path: str) -> bool:
    """Whether a project-relative path (with /) is a model file: under models/, a model
    suffix, and no hidden part (editors' and tools' files are never applied)."""
    parts = path.split("/")
    return (
        len(parts) >= 2
        and parts[0] == MODELS_DIR
        and path.lower().endswith(MODEL_SUFFIXES)
        and not any(part.startswith(".") for part in parts)
    )


def find_root(start: Path) -> Path:
    """The project root above start: the nearest folder holding policy.yaml, else the nearest
    holding .git, else start."""
    start = start.resolve()
    git_root: Path | None = None
    for folder in (start, *start.parents):
        if (folder / POLICY_FILE).is_file():
            return folder
        if (folder / ".git").exists():
            git_root = folder
            break
    return git_root or start


def _project_of(path: Path) -> Path | None:
    """The nearest folder at or above path holding policy.yaml, not above the git root."""
    for folder in (path, *path.parents):
        if (folder / POLICY_FILE).is_file():
            return folder
        if (folder / ".git").exists():
            return None
    return None


def find_projects(cwd: Path, paths: Iterable[str], policy_file: str | None = None) -> list[tuple[Project, list[str]]]:
    """The project of each path (the nearest policy.yaml above it), with the paths in it.

    No paths: the project of the current folder. A path in no project belongs to the project
    of the current folder, which says it is not one of its model files.
    """
    paths = list(paths)
    cwd_real = cwd.resolve()
    home = find_root(cwd_real)
    if policy_file is not None or not paths:
        return [(_make_project(home, cwd_real, policy_file), paths)]
    groups: dict[Path, list[str]] = {}
    roots: dict[str, Path] = {}  # folder -> its project root: pre-commit passes many files per folder
    for given in paths:
        absolute = os.path.abspath(os.path.join(cwd, given))
        folder = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
        if folder not in roots:
            roots[folder] = (_project_of(Path(folder)) or home).resolve()
        groups.setdefault(roots[folder], []).append(given)
    return [(_make_project(root, cwd_real, None), grouped) for root, grouped in sorted(groups.items())]


def find_project(cwd: Path, paths: Iterable[str] = (), policy_file: str | None = None) -> tuple[Project, list[str]]:
    """The one project a run works on; a usage error when paths span several projects."""
    projects = find_projects(cwd, paths, policy_file)
    if len(projects) > 1:
        roots = ", ".join(p.prefix.rstrip("/") or "." for p, _ in projects)
        raise UsageError(f"the paths belong to several projects ({roots}); run once per project folder")
    return projects[0]


def _make_project(root: Path, cwd: Path, policy_file: str | None) -> Project:
    relative = os.path.relpath(root, cwd)
    prefix = "" if relative == "." else Path(relative).as_posix() + "/"
    if policy_file is not None:
        return Project(root, Path(policy_file).absolute(), True, prefix)
    return Project(root, root / POLICY_FILE, False, prefix)


def display_path(root: Path, path: Path) -> str:
    """A path relative to the root, with forward slashes, as findings show it."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    return Path(os.path.relpath(absolute, root)).as_posix()


def all_model_files(root: Path) -> list[ModelFile]:
    """Every model file under models/, in a stable order."""
    return sorted(_walk(root, root / MODELS_DIR), key=lambda f: f.display_path)


def few_model_files(root: Path, limit: int) -> list[ModelFile] | None:
    """Every model file under models/ (as all_model_files), or None once there are more than limit."""
    found = list(itertools.islice(_walk(root, root / MODELS_DIR), limit + 1))
    return sorted(found, key=lambda f: f.display_path) if len(found) <= limit else None


def select(project: Project, paths: Iterable[str], cwd: Path | None = None) -> Selection:
    """The model files named by paths (every one when there are none); links and `..` out of
    the project are refused, and a named file that is not a model file is ignored with a warning.

    Naming policy.yaml, a schema or the project folder selects every model file.
    """
    paths = list(paths)
    cwd = cwd or Path.cwd()
    root = project.root
    selection = Selection(complete=not paths)
    real = _RealPaths()
    policy_real = real.of_path(project.policy_path)
    schemas_real = real.of_path(root / SCHEMAS_DIR)
    root_real = str(root.resolve())
    cwd_text, root_text = str(cwd), str(root)
    for given in paths:
        regular = _regular_file(given if os.path.isabs(given) else os.path.join(cwd_text, given))
        absolute_real: str | None
        if regular:  # the usual case, a plain file: one lstat instead of exists/is_dir/resolve
            absolute = Path(cwd_text, given)
            absolute_real = real.of(str(absolute), regular=True)
        else:
            path = Path(given) if os.path.isabs(given) else cwd / given
            if not path.exists() and not path.is_symlink():
                raise UsageError(f"{given}: no such file or folder")
            absolute = path
            absolute_real = real.of_path(absolute)
        if absolute_real is not None and (
            absolute_real == policy_real
            or (absolute.suffix == ".json" and os.path.dirname(absolute_real) == schemas_real)
            or (not regular and absolute_real == root_real)
        ):
            selection.complete = True
        elif not regular and absolute.is_dir():
            selection.files.extend(_walk(root, absolute))
        else:
            relative = _display(root, root_text, absolute)
            if is_model_path(relative) or relative.startswith("../"):
                selection.files.append(ModelFile(absolute, relative))
            elif absolute.suffix.lower() in MODEL_SUFFIXES:
                selection.refused.append(_not_a_model_file(relative))
            else:
                raise UsageError(f"{given}: not a model file (expected .yaml, .yml or .json under models/)")
    if selection.complete:
        selection.files = all_model_files(root)
    selection.files = _unique(selection.files)
    kept: list[ModelFile] = []
    for model_file in selection.files:
        problem = _escape_problem(root_real, model_file, real)
        if problem:
            selection.refused.append(error(model_file.display_path, Position(1, 1), "path", problem))
        else:
            kept.append(model_file)
    selection.files = kept
    return selection


def _not_a_model_file(relative: str) -> Finding:
    hidden = any(part.startswith(".") for part in relative.split("/"))
    reason = (
        "a hidden file is never a model file (not checked, not applied); rename it without the leading dot to manage it"
        if hidden
        else f"not under {MODELS_DIR}/ of this project: not a model file, not checked, not applied; "
        f"move it under {MODELS_DIR}/ to manage it"
    )
    return warning(relative, Position(1, 1), "path", f"ignored: {reason}")


def _escape_problem(root_real: str, model_file: ModelFile, real: _RealPaths) -> str | None:
    if model_file.display_path.startswith("../") or model_file.display_path == "..":
        return "refused: the path leads outside the repository (..); keep model files inside it"
    resolved = real.of(str(model_file.fs_path))
    if resolved != root_real and not resolved.startswith(root_real.rstrip(os.sep) + os.sep):
        return "refused: the file is a link to outside the repository; keep model files inside it"
    return None


class _RealPaths:
    """Path.resolve() of many files, resolving each folder once: a file that is not a symbolic
    link resolves to its folder's real path plus its name (what realpath computes, one lstat
    instead of one per path component)."""

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}
        self._known: dict[str, str] = {}

    def of(self, path: str, regular: bool = False) -> str:
        """os.path.realpath(path); regular=True promises that path is a regular file, not a link."""
        known = self._known.get(path)
        if known is not None:
            return known
        absolute = os.path.abspath(path)
        folder, name = os.path.split(absolute)
        if not name or name in (".", "..") or ".." in path.split(os.sep):
            real = os.path.realpath(path)  # `..` after a linked folder is not lexical
        elif not regular and _is_link_or_missing(absolute):
            real = os.path.realpath(absolute)
        else:
            real_folder = self._folders.get(folder)
            if real_folder is None:
                real_folder = self._folders[folder] = os.path.realpath(folder)
            real = os.path.join(real_folder, name)
        self._known[path] = real
        return real

    def of_path(self, path: Path) -> str | None:
        try:
            return self.of(str(path))
        except OSError:
            return None


def _regular_file(given: str) -> bool:
    """Whether given names a regular file itself (not a link, not a folder)."""
    try:
        return stat.S_ISREG(os.lstat(given).st_mode)
    except (OSError, ValueError):
        return False


def _is_link_or_missing(path: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return True


def _display(root: Path, root_text: str, absolute: Path) -> str:
    """display_path(root, absolute), without relpath's cost for the usual path inside the root."""
    text = os.path.normpath(str(absolute))
    if text.startswith(root_text) and text[len(root_text) : len(root_text) + 1] == os.sep:
        return text[len(root_text) + 1 :].replace(os.sep, "/")
    return display_path(root, absolute)


def _walk(root: Path, folder: Path) -> Iterator[ModelFile]:
    root_text = str(root)
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        shown = _display(root, root_text, Path(current))
        prefix = "" if shown == "." else shown + "/"
        for name in sorted(files):
            if is_model_path(prefix + name):
                yield ModelFile(Path(current, name), prefix + name)


def _unique(files: list[ModelFile]) -> list[ModelFile]:
    seen: dict[str, ModelFile] = {}
    for model_file in files:
        seen.setdefault(model_file.display_path, model_file)
    return sorted(seen.values(), key=lambda f: f.display_path)
