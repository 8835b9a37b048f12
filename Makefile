# vaxbook: `make run` starts the service, `make test` checks everything.
# Both create the virtual environment in .venv from the lock files on first use.

VENV    := .venv
PY      := $(VENV)/bin/python
MANAGE  := $(PY) manage.py
HOST    ?= 127.0.0.1
PORT    ?= 8000
export HOST PORT
# Lint, type checks and tests import the settings: give them a throwaway key, never a real one.
CHECK_ENV := SECRET_KEY=insecure-key-for-checks-and-tests-only

.PHONY: run dev test lint typecheck check-migrations suite audit bench bench-http lock clean help

help:
	@echo "make run    start vaxbook (SQLite, demo data, worker) on http://$(HOST):$(PORT)/"
	@echo "make test   lint, type checks, migration check and the whole test suite"
	@echo "make dev    Django's auto-reloading development server and the worker"
	@echo "make bench  booking storm, slot pages and (on PostgreSQL) the HTTP booking storm and its cost"
	@echo "make lock   recompile requirements/*.lock from pyproject.toml"

# The environment is rebuilt whenever a lock file changes.
$(VENV)/.main-installed: requirements/main.lock
	@test -x $(PY) || "$$(bin/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/main.lock
	@touch $@

$(VENV)/.dev-installed: requirements/dev.lock $(VENV)/.main-installed
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.lock
	@touch $@

run: $(VENV)/.main-installed
	@bin/run-local

dev: $(VENV)/.dev-installed
	@DEBUG=true bin/run-local --dev

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(CHECK_ENV) $(VENV)/bin/mypy .

check-migrations: $(VENV)/.dev-installed
	$(CHECK_ENV) $(MANAGE) makemigrations --check --dry-run

suite: $(VENV)/.dev-installed
	$(CHECK_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck check-migrations suite

# bandit on the code, pip-audit on the lock files (bin/audit says what each checks).
audit: $(VENV)/.dev-installed
	bin/audit

bench: $(VENV)/.dev-installed
	$(PY) bench/booking_storm.py
	$(PY) bench/slot_list.py
	@case "$${DATABASE_URL:-}" in postgres*) $(PY) bench/http_storm.py && $(PY) bench/booking_cost.py ;; \
	  *) echo "bench/http_storm.py and bench/booking_cost.py run on PostgreSQL: set DATABASE_URL=postgres://..." ;; esac

bench-http: $(VENV)/.dev-installed
	$(PY) bench/http_servers.py

lock:
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.12 --generate-hashes -o requirements/main.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -c requirements/main.lock --python-version 3.12 --generate-hashes -o requirements/dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles
