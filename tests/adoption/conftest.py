"""The adoption tests' fixtures: the release built from this tree, and emulators started from it.

The adoption tests run last, and their release is installed while the other tests run: the
install mostly waits for the package index, and the other tests mostly wait for subprocesses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from adoption_support import PREPARATION, release, start_emulator

__all__ = ["release", "start_emulator"]

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in item.path.parents]
    if ours and not config.option.collectonly:
        items[:] = [item for item in items if HERE not in item.path.parents] + ours
        # Under pytest-xdist every worker collects every test and only one runs these: that one
        # prepares the release when its first adoption test asks for it.
        if not hasattr(config, "workerinput"):
            PREPARATION.start(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    PREPARATION.stop()
