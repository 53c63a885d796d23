"""Shared fixtures: emulator fixtures live in emulator_fixtures.py."""

pytest_plugins = ["emulator_fixtures"]
