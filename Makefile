# Touchpoint Sentinel developer tasks. `make` alone lists them.
# Needs only python3 (>= 3.11) on PATH; everything else goes into .venv.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sentinel-installed

.PHONY: help venv tools lint test run bench chaos clean

help: ## List targets (default)
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-7s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(STAMP) ## Create .venv and install the project with test and rocksdb extras

# Reinstalls only when pyproject.toml changes; the editable install picks up code changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test,rocksdb]'
	@touch $@

# promtool checks the SRE rules; stunnel4 terminates TLS in front of the embedded broker in the security tests.
tools: ## Install promtool and stunnel4 (Debian packages) if missing; the tests use them
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v stunnel4 >/dev/null || missing="$$missing stunnel4"; \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint: $(STAMP) ## ruff check and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint tools ## Lint, then the whole pytest suite (unit and integration, embedded broker)
	$(BIN)/pytest tests

run: $(STAMP) ## Run the demo (sentinel demo)
	$(BIN)/sentinel demo

bench: $(STAMP) ## Run the benchmarks (python -m bench)
	$(BIN)/python -m bench

chaos: $(STAMP) ## Run the fault suite (python -m chaos; 30-40 min) and write RELIABILITY.md
	$(BIN)/python -m chaos --seed 1

clean: ## Remove caches and build output (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 \
		| xargs -0 rm -rf
