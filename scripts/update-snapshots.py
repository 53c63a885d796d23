#!/usr/bin/env python3
"""Rewrite the reporter snapshots under tests/snapshots/ from tests/snapshot_cases.py.

Run it when a change to a reporter's output is intended, then review `git diff tests/snapshots`:

    .venv/bin/python scripts/update-snapshots.py          # rewrite every snapshot
    .venv/bin/python scripts/update-snapshots.py --check  # exit 1 if any snapshot is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from snapshot_cases import SNAPSHOT_DIR, SNAPSHOTS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale snapshots; write nothing")
    args = parser.parse_args(argv)
    stale = []
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for name, render in SNAPSHOTS.items():
        path = SNAPSHOT_DIR / name
        text = render()
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8", newline="")
    verb = "stale" if args.check else "updated"
    for name in stale:
        print(f"{verb}: {(SNAPSHOT_DIR / name).relative_to(ROOT)}")
    if not stale:
        print("snapshots are up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
