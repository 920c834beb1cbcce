# crm-hub — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export CRMHUB_PLUGIN_DIR ?= $(CURDIR)/$(VENV)/plugins

.PHONY: demo test test-fast bytecode lint typecheck pytest services bench schemas clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

$(STAMP): $(BIN)/python pyproject.toml
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## make demo — install, write example hub.yaml + sample data under demo/, run the pipeline.
demo: $(STAMP)
	$(BIN)/crmhub demo --dir demo

## make test — install, provide real services (PostgreSQL), lint, type-check, run pytest.
test: $(STAMP) bytecode services lint typecheck pytest

## make test-fast — the edit loop (~4 min on this 2-core machine, two workers; 7 min serial): lint, then `pytest -m "not slow"`
## (no PostgreSQL, real systems, Airflow, browser or kill-and-rerun; see tests/conftest.py).
test-fast: $(STAMP) bytecode lint
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not slow"

# PYTHONDONTWRITEBYTECODE=1 (set on our machines) keeps Python from writing .pyc files, so
# every test subprocess would recompile our packages; compile them once up front (the
# install step does the same for site-packages with --compile-bytecode).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q analytics hub identity connectors schemas dags

services:
	@bash scripts/ensure-services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy dags

# two workers, a test file each at a time (`--dist loadfile`: a file's session fixtures —
# Spark, PostgreSQL, the real systems — start once per worker): 2,049 → 1,658 s on 2 cores
pytest: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=25

bench: $(STAMP)
	$(BIN)/python -m benchmarks.ingest_sql --rows 200000
	$(BIN)/python -m benchmarks.identity.run --dataset all --entities 90000
	$(BIN)/python -m benchmarks.identity.incremental --entities 90000 --queries 2000

schemas: $(STAMP)
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .crmhub demo .pytest_cache .mypy_cache .ruff_cache
