"""Writing files atomically: reports, imported model files, scaffolding."""

from __future__ import annotations

import os
from pathlib import Path


def default_file_mode() -> int:
    """The mode a new file gets from open() under the current umask (mkstemp makes 0600)."""
    current = os.umask(0)
    os.umask(current)
    return 0o666 & ~current


def write_file(target: Path, text: str, *, overwrite: bool = True) -> bool:
    """Write text to target atomically: readers never see a half-written file.

    With overwrite=False an existing target is left untouched and False is returned.
    """
    import tempfile  # not on the start-up path of a check that prints to the terminal

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, default_file_mode())
        if overwrite:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)  # fails if target exists: never overwrite
        return True
    except FileExistsError:
        return False
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_output(text: str, destination: str) -> None:
    """Write a report to a file, replacing it atomically."""
    write_file(Path(destination), text)
