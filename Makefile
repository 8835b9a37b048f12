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

.PHONY: run dev test test-deps lint typecheck check-migrations suite audit backup bench bench-http lock clean \
	help cluster cluster-stop cluster-status

help:
	@echo "make run    start vaxbook (SQLite, demo data, worker) on http://$(HOST):$(PORT)/"
	@echo "make test   lint, type checks, migration check and the whole test suite (installs Chromium and ffmpeg)"
	@echo "make dev    Django's auto-reloading development server and the worker"
	@echo "make bench  booking storm, slot pages and (on PostgreSQL) the HTTP booking storm, its cost and the flash crowd"
	@echo "make backup a consistent backup of the database into BACKUP_DIR (docs/backups.md)"
	@echo "make lock   recompile requirements/*.lock from pyproject.toml"
	@echo "make cluster       nginx, 2 app instances, PgBouncer, PostgreSQL primary and replica, Redis"
	@echo "make cluster-stop  stop all of it (docs/deployment.md); BENCH=1 / DRILLS=1 with make cluster"

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

suite: $(VENV)/.dev-installed test-deps
	$(CHECK_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

# Chromium, ffmpeg and fonts for the browser tests: apt-get, or a message naming the command.
test-deps:
	@bin/test-deps

test: test-deps lint typecheck check-migrations suite

# bandit on the code, pip-audit on the lock files (bin/audit says what each checks).
audit: $(VENV)/.dev-installed
	bin/audit

# A consistent backup of the configured database while it runs (docs/backups.md); the
# local database of `make run` unless DATABASE_URL says otherwise.
backup: $(VENV)/.main-installed
	@key="$${SECRET_KEY:-$$(cat var/secret_key 2>/dev/null)}"; \
	if [ -z "$$key" ]; then echo "make backup: set SECRET_KEY (make run keeps one in var/secret_key)" >&2; exit 1; fi; \
	SECRET_KEY="$$key" $(MANAGE) backup

bench: $(VENV)/.dev-installed
	$(PY) bench/booking_storm.py
	$(PY) bench/slot_list.py
	@case "$${DATABASE_URL:-}" in postgres*) $(PY) bench/http_storm.py && $(PY) bench/booking_cost.py && $(PY) bench/flash_crowd.py ;; \
	  *) echo "bench/http_storm.py, bench/booking_cost.py and bench/flash_crowd.py run on PostgreSQL: set DATABASE_URL=postgres://..." ;; esac
	@if $(CLUSTER_UP); then $(PY) bench/scale_out.py; \
	  else echo "bench/scale_out.py runs against the local cluster: make cluster"; fi

bench-http: $(VENV)/.dev-installed
	$(PY) bench/http_servers.py

# The scaled-out topology on this machine, under var/cluster/ (docs/deployment.md).
# CLUSTER_INSTANCES=N app instances (2); CLUSTER_REPLICA=off without the replica;
# BENCH=1 runs bench/scale_out.py once it is up, DRILLS=1 the failure drills.
CLUSTER_UP := test -s var/cluster/nginx/nginx.pid && kill -0 $$(cat var/cluster/nginx/nginx.pid) 2>/dev/null
cluster: $(VENV)/.main-installed
	@deploy/cluster/cluster up
	@if [ -n "$(DRILLS)" ]; then $(PY) bench/drills.py; fi
	@if [ -n "$(BENCH)" ]; then $(PY) bench/scale_out.py; fi

cluster-stop:
	@deploy/cluster/cluster down

cluster-status:
	@deploy/cluster/cluster status

lock:
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.12 --generate-hashes -o requirements/main.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -c requirements/main.lock --python-version 3.12 --generate-hashes -o requirements/dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles
