"""What a newcomer installs, built once per session and shared by every adoption test (the
fixtures are registered in conftest.py).

The wheel is built from this working tree (its version from git, as a release's is), installed
non-editable with the `emulator` extra into a fresh virtualenv, and its dependencies are
downloaded next to it so a second, "CI runner" virtualenv can install the pinned release from
that folder with no package index. Nothing from the project's own virtualenv is visible to them.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from emulator_fixtures import EmulatorProcess

PROJECT = Path(__file__).resolve().parents[2]
# Where git and bash live; a venv's bin goes first. No python of the machine's is needed after it.
SYSTEM_PATH = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])


def host_env() -> dict[str, str]:
    """This machine's environment for pip (its index settings and cache), without anything that
    would point a new interpreter at this project: no virtualenv, PYTHONPATH or AWS setting."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "CONDA_PREFIX")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("AWS_", "MOTO_", "GIT_"))}


def run(args: list[str | Path], cwd: Path, env: Mapping[str, str], timeout: float = 600) -> str:
    """Run a command that must succeed; its output on failure."""
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


def make_venv(path: Path) -> Path:
    """A fresh virtualenv (no system site packages); its bin folder."""
    run([sys.executable, "-m", "venv", path], cwd=path.parent, env=host_env())
    config = (path / "pyvenv.cfg").read_text(encoding="utf-8")
    assert re.search(r"^include-system-site-packages\s*=\s*false$", config, re.M), config
    return path / "bin"


@dataclass(frozen=True)
class Release:
    """The wheel built from this tree; the folder holding it and its dependencies (a package
    index for the CI runner); a virtualenv where it is installed with the emulator extra; and
    the CI runner's python: a virtualenv with no cam-gitops."""

    wheel: Path
    version: str
    wheelhouse: Path
    venv: Path
    runner_python: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"


def _git(*args: str) -> str:
    return run(["git", *args], PROJECT, host_env()).strip()


def _assert_from_git(version: str) -> None:
    """The version names the commit the wheel was built from (or its tag), and says when the
    tree had uncommitted changes (a clone without tags and a dirty tree build too)."""
    public, _, local = version.partition("+")
    parts = local.split(".") if local else []
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    assert any(part.startswith("d") for part in parts) == dirty, (version, "uncommitted changes" if dirty else "clean")
    node = next((part[1:] for part in parts if part.startswith("g")), None)
    if node is not None:
        assert _git("rev-parse", "HEAD").startswith(node), version
    else:
        assert f"v{public}" in _git("tag", "--points-at", "HEAD").split(), version


def build_wheel(dist: Path) -> tuple[Path, str]:
    """The wheel of this working tree, and its version (checked against git).

    Built from a copy of the tree (its .git included, so the version is the same): the build
    writes cam_gitops/_version.py, which the project's own editable install reads, and tests
    running beside this one (pytest-xdist) must never see it change.
    """
    source = dist.parent / "source"
    junk = shutil.ignore_patterns(
        ".venv", ".tools", "mutants", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"
    )
    shutil.copytree(PROJECT, source, ignore=junk, symlinks=True)
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", dist, source],
        cwd=dist,
        env=host_env(),
    )
    (wheel,) = dist.glob("cam_gitops-*.whl")
    version = wheel.name.split("-")[1]
    _assert_from_git(version)
    return wheel, version


def install(root: Path, wheel: Path, version: str) -> Release:
    """The newcomer's virtualenv, the runner's and the wheel's folder, made at once (mostly
    waiting for the package index)."""
    venv, runner, wheelhouse, away = root / "newcomer", root / "runner", root / "wheelhouse", root / "elsewhere"
    away.mkdir()  # never this repository: its cam_gitops must not be importable from there

    def newcomer() -> None:
        bin_dir = make_venv(venv)
        # --no-compile: modules are compiled when first imported instead; it halves the install.
        run(
            [bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile", f"{wheel}[emulator]"],
            away,
            host_env(),
        )

    def index() -> None:
        run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", wheelhouse, wheel], away, host_env())

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        tasks: list[concurrent.futures.Future[object]] = [
            pool.submit(newcomer),
            pool.submit(index),
            pool.submit(make_venv, runner),
        ]
        for task in tasks:
            task.result()
    return Release(wheel, version, wheelhouse, venv, runner)


class Preparation:
    """The release, prepared while the rest of the suite runs.

    start() builds the wheel at once (before any test runs: the build rewrites a file the
    project's own install reads) and installs it in a thread; result() waits for it. Started
    only when adoption tests are selected; stop() waits for it. Its files live in pytest's
    temporary folder, removed as pytest removes old ones (removing them at once would cost
    about a minute: twenty thousand files).
    """

    def __init__(self) -> None:
        self._root: Path | None = None
        self._own_root = False
        self._thread: threading.Thread | None = None
        self._release: Release | None = None
        self._error: BaseException | None = None

    def start(self, config: pytest.Config) -> None:
        if self._root is not None:
            return
        # The factory behind tmp_path_factory, which pytest keeps on the config.
        factory = getattr(config, "_tmp_path_factory", None)
        if isinstance(factory, pytest.TempPathFactory):
            self._root = factory.mktemp("adoption-release")
        else:
            self._root, self._own_root = Path(tempfile.mkdtemp(prefix="cam-gitops-adoption-")), True
        try:
            dist = self._root / "dist"
            dist.mkdir()
            wheel, version = build_wheel(dist)
        except BaseException as exc:  # reported by the tests that need the release
            self._error = exc
            return
        root = self._root

        def work() -> None:
            try:
                self._release = install(root, wheel, version)
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=work, name="adoption-install", daemon=True)
        self._thread.start()

    def result(self, config: pytest.Config) -> Release:
        self.start(config)
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._release is not None
        return self._release

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join()
        if self._root is not None and self._own_root:
            shutil.rmtree(self._root, ignore_errors=True)


PREPARATION = Preparation()


@pytest.fixture(scope="session")
def release(pytestconfig: pytest.Config) -> Release:
    """The release, installed (see Preparation): shared by every adoption test of the session."""
    return PREPARATION.result(pytestconfig)


@pytest.fixture
def start_emulator(emulator_process: Callable[..., EmulatorProcess]) -> Callable[..., EmulatorProcess]:
    """Factory: start_emulator(bin_dir, *args, env) runs `<bin_dir>/cam-gitops-emulator --port 0 *args`
    (the installed release's) and returns it with its banner once it listens."""

    def start(bin_dir: Path, *args: str, env: Mapping[str, str]) -> EmulatorProcess:
        return emulator_process(*args, env=env, executable=str(bin_dir / "cam-gitops-emulator"))

    return start
