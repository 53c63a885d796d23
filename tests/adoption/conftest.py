"""The adoption tests' fixtures: the release built from this tree, and emulators started from it."""

from adoption_support import release, start_emulator

__all__ = ["release", "start_emulator"]
