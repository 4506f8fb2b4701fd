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

.PHONY: help venv tools lint test run bench bench-instructions chaos dashboard clean

help: ## List targets (default)
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(STAMP) ## Create .venv and install the project with test and rocksdb extras

# Reinstalls only when pyproject.toml changes; the editable install picks up code changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test,rocksdb]'
	@touch $@

APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
# The last AsyncAPI CLI release for Node.js before 24 (5.x and later require 24).
ASYNCAPI_CLI := @asyncapi/cli@4.1.1

tools: ## Install the tools the deploy, contract and security tests run, where missing (Debian packages, npm)
	@missing=""; \
	command -v promtool >/dev/null && command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v stunnel4 >/dev/null || missing="$$missing stunnel4"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	PATH=/usr/local/bin:/usr/bin python3 -m pip --version >/dev/null 2>&1 || missing="$$missing python3-pip"; \
	if [ -n "$$missing" ]; then apt-get update -qq && $(APT_INSTALL)$$missing >/dev/null; fi
	@command -v asyncapi >/dev/null || npm install --global --no-fund --no-audit --loglevel=error $(ASYNCAPI_CLI)

lint: $(STAMP) ## ruff check and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint tools ## Lint, then the whole pytest suite (unit and integration, embedded broker)
	$(BIN)/pytest tests

run: $(STAMP) ## Run the demo (sentinel demo)
	$(BIN)/sentinel demo

bench: $(STAMP) ## Run the benchmarks (python -m bench)
	$(BIN)/python -m bench

AGAINST ?= a7863bc
bench-instructions: $(STAMP) ## Engine instructions per event here against AGAINST (a git revision), by callgrind
	@command -v valgrind >/dev/null || { apt-get update -qq && $(APT_INSTALL) valgrind >/dev/null; }
	$(BIN)/python -m bench.instructions --against $(AGAINST)

dashboard: $(STAMP) ## Regenerate deploy/grafana/sentinel-dashboard.json from deploy/grafana/dashboard.py
	$(BIN)/python deploy/grafana/dashboard.py > deploy/grafana/sentinel-dashboard.json

chaos: $(STAMP) ## Run the fault suite (python -m chaos; about 21 min) and write RELIABILITY.md
	$(BIN)/python -m chaos --seed 1

clean: ## Remove caches and build output (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 \
		| xargs -0 rm -rf
