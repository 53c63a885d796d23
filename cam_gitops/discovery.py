"""Which files a run looks at: the repository root, model files, and refused paths."""

from __future__ import annotations

import os
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
    for given in paths:
        path = Path(given)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{given}: no such file or folder")
        absolute = (Path.cwd() / path) if not path.is_absolute() else path
        if _same_file(absolute, policy_file) or _is_schema(root, absolute):
            check_all = True
        elif path.is_dir():
            selection.files.extend(_walk(root, absolute))
        elif absolute.suffix.lower() in MODEL_SUFFIXES:
            selection.files.append(ModelFile(absolute, display_path(root, absolute)))
        else:
            raise UsageError(f"{given}: not a model file (expected .yaml, .yml or .json)")
    if check_all:
        selection.files = all_model_files(root)
    selection.files = _unique(selection.files)
    kept: list[ModelFile] = []
    for model_file in selection.files:
        problem = escape_problem(root, model_file)
        if problem:
            selection.refused.append(error(model_file.display_path, Position(1, 1), "path", problem))
        else:
            kept.append(model_file)
    selection.files = kept
    return selection, check_all


def escape_problem(root: Path, model_file: ModelFile) -> str | None:
    """Why a file is refused for lying outside the repository, or None."""
    if model_file.display_path.startswith("../") or model_file.display_path == "..":
        return "refused: the path leads outside the repository (..); keep model files inside it"
    real = model_file.fs_path.resolve()
    if not real.is_relative_to(root.resolve()):
        return "refused: the file is a link to outside the repository; keep model files inside it"
    return None


def _walk(root: Path, folder: Path) -> Iterator[ModelFile]:
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(MODEL_SUFFIXES) and not name.startswith("."):
                full = Path(current) / name
                yield ModelFile(full, display_path(root, full))


def _same_file(path: Path, other: Path) -> bool:
    try:
        return path.resolve() == other.resolve()
    except OSError:
        return False


def _is_schema(root: Path, path: Path) -> bool:
    return path.suffix == ".json" and path.resolve().parent == (root / SCHEMAS_DIR).resolve()


def _unique(files: list[ModelFile]) -> list[ModelFile]:
    seen: dict[str, ModelFile] = {}
    for model_file in files:
        seen.setdefault(model_file.display_path, model_file)
    return sorted(seen.values(), key=lambda f: f.display_path)
