# Two commands: `make run` serves the API on the embedded default, `make test` checks everything.
# Both bootstrap uv and the .venv from uv.lock on a fresh machine.

SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
# Another apt/dpkg run (an unattended upgrade, a second install) holds the lock: wait for it.
APT := apt-get -o DPkg::Lock::Timeout=600

.PHONY: help bootstrap run dev test coverage lint typecheck unit integration migrate bench soak redis-server export-tools bench-tools clean

# `make help` prints the `## ` note of every target's line, so the list cannot drift.
help: ## list every target with what it does
	@awk -F ':.*## ' '/^[A-Za-z][A-Za-z0-9_-]*:.*## / { printf "make %-13s %s\n", $$1, $$2 }' $(firstword $(MAKEFILE_LIST))
	@echo "variables: HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) (e.g. make run PORT=9000)"

$(UV):
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

# --compile-bytecode: uv links packages in without .pyc files, and with PYTHONDONTWRITEBYTECODE
# set (or a read-only tree) every process would compile fastapi, sqlalchemy, redis... again: the
# suite starts hundreds of servers, so a clean clone's `make test` ran ~2 minutes longer.
.venv/.synced: pyproject.toml uv.lock | $(UV)
	@$$(command -v uv || echo $(UV)) sync --frozen --compile-bytecode
	@touch $@

bootstrap: .venv/.synced ## install uv if missing and sync .venv from uv.lock

run: bootstrap ## serve the API on http://HOST:PORT (SQLite + in-process stores by default)
	HOST=$(HOST) PORT=$(PORT) $(PY) -m app serve --workers $(WORKERS)

dev: bootstrap ## serve the API with auto-reload on source changes
	HOST=$(HOST) PORT=$(PORT) $(PY) -m app serve --reload

migrate: bootstrap ## apply database migrations (needed once for PostgreSQL)
	$(PY) -m app migrate

# Integration tests start their own redis-server; install the binary when it is missing.
redis-server: ## install the redis-server binary with apt-get when missing (tests need it)
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server not found: installing it with apt-get"; \
	  ($(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq redis-server) \
	  || { echo "could not install redis-server; integration tests need it" >&2; exit 1; }; }

# The benches' load generator; the suite runs each bench once at a tiny size.
bench-tools: ## install wrk (the benches' load generator) with apt-get when missing
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "wrk not found: installing it with apt-get"; \
	  ($(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq wrk) \
	  || { echo "could not install wrk; the bench tests need it" >&2; exit 1; }; }

# Export tests render Korean text (fonts-nanum, embedded in PDFs) and look at a page in Chromium.
export-tools: ## install chromium and a Korean font (fonts-nanum) with apt-get when missing
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=ko | grep -q .; } || { \
	  echo "chromium or a Korean font is missing: installing chromium fonts-nanum with apt-get"; \
	  ($(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq chromium fonts-nanum) \
	  || { echo "could not install chromium/fonts-nanum; export tests need them" >&2; exit 1; }; }

lint: bootstrap ## ruff check and ruff format --check of app, tests and bench; import contracts (lint-imports)
	$(PY) -m ruff check app tests bench
	$(PY) -m ruff format --check app tests bench
	.venv/bin/lint-imports --no-cache

typecheck: bootstrap ## mypy --strict over app and bench
	$(PY) -m mypy

test: bootstrap redis-server export-tools bench-tools lint typecheck ## lint, type-check and run the whole test suite
	$(PY) -m pytest

coverage: bootstrap redis-server export-tools bench-tools ## the whole suite with line coverage of app/ (HTML in htmlcov/); fails under 85 %
	rm -f .coverage .coverage.*
	$(PY) -m pytest --cov --cov-report=term --cov-report=html

unit: bootstrap ## run the unit tests only (no servers)
	$(PY) -m pytest -m unit

integration: bootstrap redis-server export-tools bench-tools ## run the integration tests only (real Redis, SQLite, PostgreSQL, uvicorn)
	$(PY) -m pytest -m integration

bench: bootstrap redis-server bench-tools ## run the benchmarks (see docs/benchmarks.md)
	$(PY) -m bench.run_all

soak: bootstrap redis-server bench-tools ## 2 minutes of mixed traffic with a Redis restart in the middle (not in CI)
	$(PY) -m bench.soak

clean: ## remove .venv, tool caches and the default SQLite database
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache raidesk.db raidesk.db-*
