"""Shared fixtures: emulator fixtures live in emulator_fixtures.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["emulator_fixtures"]

CAM_GITOPS = str(Path(sys.executable).parent / "cam-gitops")


@pytest.fixture
def run() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed cam-gitops as a subprocess in a folder, as CI would (no colour, no stdin)."""

    def invoke(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CI")}
        env["NO_COLOR"] = "1"
        return subprocess.run(
            [CAM_GITOPS, *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    return invoke
