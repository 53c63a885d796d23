"""Which files a run looks at: the repository root, model files, and refused paths."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cam_gitops.findings import Finding, Position, error
from cam_gitops.loader import MODEL_SUFFIXES

MODELS_DIR = "models"
SCHEMAS_DIR = "schemas"


class UsageError(Exception):
    """A path argument that cannot be used: exit code 2."""


@dataclass(frozen=True)
class ModelFile:
    """A model file: where it is on disk and how findings name it."""

    fs_path: Path
    display_path: str


@dataclass
class Selection:
    """The model files of a run, and findings for paths that were refused."""

    files: list[ModelFile] = field(default_factory=list)
    refused: list[Finding] = field(default_factory=list)


def find_root(start: Path) -> Path:
    """The repository root: the nearest folder holding policy.yaml or .git, else start."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "policy.yaml").exists() or (folder / ".git").exists():
            return folder
    return start


def display_path(root: Path, path: Path) -> str:
    """A path relative to the root, with forward slashes, as findings show it."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    return Path(os.path.relpath(absolute, root)).as_posix()


def all_model_files(root: Path) -> list[ModelFile]:
    """Every model file under models/, in a stable order."""
    return sorted(_walk(root, root / MODELS_DIR), key=lambda f: f.display_path)


def select(root: Path, paths: Iterable[str], policy_file: Path) -> tuple[Selection, bool]:
    """Model files named by paths (every one when paths is empty), links out of the repository
    refused; True when every model file is selected (no paths, or a policy or schema among them)."""
    paths = list(paths)
    check_all = not paths
    selection = Selection()
    real = _RealPaths()
    policy_real = real.of_path(policy_file)
    schemas_real = real.of_path(root / SCHEMAS_DIR)
    cwd = Path.cwd()
    cwd_text = str(cwd)
    root_text = str(root)
    for given in paths:
        regular = _regular_file(given)
        absolute_real: str | None
        if regular:  # the usual case, a plain file: one lstat instead of exists/is_dir/resolve
            absolute = Path(cwd_text, given)
            absolute_real = real.of(str(absolute), regular=True)
        else:
            path = Path(given)
            if not path.exists() and not path.is_symlink():
                raise UsageError(f"{given}: no such file or folder")
            absolute = (cwd / path) if not path.is_absolute() else path
            absolute_real = real.of_path(absolute)
        if (policy_real is not None and absolute_real == policy_real) or (
            absolute.suffix == ".json" and absolute_real is not None and os.path.dirname(absolute_real) == schemas_real
        ):
            check_all = True
        elif not regular and Path(given).is_dir():
            selection.files.extend(_walk(root, absolute))
        elif absolute.suffix.lower() in MODEL_SUFFIXES:
            selection.files.append(ModelFile(absolute, _display(root, root_text, absolute)))
        else:
            raise UsageError(f"{given}: not a model file (expected .yaml, .yml or .json)")
    if check_all:
        selection.files = all_model_files(root)
    selection.files = _unique(selection.files)
    kept: list[ModelFile] = []
    root_real = str(root.resolve())
    for model_file in selection.files:
        problem = _escape_problem(root_real, model_file, real)
        if problem:
            selection.refused.append(error(model_file.display_path, Position(1, 1), "path", problem))
        else:
            kept.append(model_file)
    selection.files = kept
    return selection, check_all


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
            if name.lower().endswith(MODEL_SUFFIXES) and not name.startswith("."):
                yield ModelFile(Path(current, name), prefix + name)


def _unique(files: list[ModelFile]) -> list[ModelFile]:
    seen: dict[str, ModelFile] = {}
    for model_file in files:
        seen.setdefault(model_file.display_path, model_file)
    return sorted(seen.values(), key=lambda f: f.display_path)
