# Shipyard developer commands. Each target creates .venv when it is missing and
# installs what it needs, so `make demo` and `make test` work on a fresh machine.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME := build/demo/.shipyard

.PHONY: demo test lint bench format clean install

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The CPU build of PyTorch first (the tests round-trip the PyTorch flavor); a bare
# `torch` requirement would otherwise pull a multi-gigabyte CUDA build.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev,postgres,redis,s3]"
	touch $@ $(VENV)/.base-installed

install: $(VENV)/.dev-installed

demo: $(VENV)/.base-installed
	rm -rf build/demo
	SHIPYARD_HOME=$(DEMO_HOME) $(BIN)/python examples/demo.py

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.dev-installed
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

bench: $(VENV)/.dev-installed
	@for f in benchmarks/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf build .bench .mypy_cache .ruff_cache .pytest_cache
