# crm-hub — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export CRMHUB_PLUGIN_DIR ?= $(CURDIR)/$(VENV)/plugins

.PHONY: demo test lint typecheck pytest services bench schemas clean

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
test: $(STAMP) services lint typecheck pytest

services:
	@bash scripts/ensure-services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy dags

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest_sql.py --rows 200000
	$(BIN)/python -m benchmarks.identity.run --dataset all --entities 90000
	$(BIN)/python -m benchmarks.identity.incremental --entities 90000 --queries 2000

schemas: $(STAMP)
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .crmhub demo .pytest_cache .mypy_cache .ruff_cache
