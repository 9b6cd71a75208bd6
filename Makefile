# The README's commands. `make run` serves a demo workspace; `make test` is what CI runs.
# Everything happens in .venv (created with $(PYTHON) when missing); each install is redone
# only when pyproject.toml changes.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip --disable-pip-version-check
# pytest-xdist processes for `make test` (the CI machine has two cores)
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help run test lint format pytest bench clean distclean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[dev]'
	@touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)  ## build the demo workspace if there is none, then serve it (Ctrl-C stops)
	$(BIN)/wk demo --if-missing
	$(BIN)/wk serve

test: lint pytest  ## lint, format check, type check, import layers, then the whole test suite

lint: $(DEV_STAMP)  ## ruff (lint and format check), mypy, import-linter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(DEV_STAMP)  ## the test suite only, one file per worker process (TEST_WORKERS=1 runs it in one)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

format: $(DEV_STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEV_STAMP)  ## KQL vs hand-written SQL (benchmarks/kql_vs_sql.py)
	$(BIN)/python benchmarks/kql_vs_sql.py

clean:  ## remove caches and build output (keeps .venv and the data in var/)
	rm -rf build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean  ## also remove .venv (the data in var/ stays)
	rm -rf $(VENV)
