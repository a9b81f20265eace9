# Lookalike — every command sets up what it needs from nothing.
#   make demo   create .venv, install, run the demo on built-in synthetic data (writes out/)
#   make test   create .venv, install, run the whole test suite (unit, CLI, doctests)
#   make bench  create .venv, install, run the benchmarks (writes bench/results/; ~15 min)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench fuzz audit install clean postgres postgres-stop chromium

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,postgres,spark]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/lookalike demo --out out

test: $(STAMP) postgres chromium
	LOOKALIKE_TEST_PG_URL=$(PG_URL) $(BIN)/python -m pytest -q --doctest-modules src/lookalike tests

# Debian's Chromium for the browser tests (tests/web), driven headless by Playwright; installed if missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# A throwaway PostgreSQL server for the database tests (Debian package; installed if missing).
# The server refuses to run as root, so as root it runs as the `postgres` user. Idempotent: a running
# server on PG_PORT is left alone. `make postgres-stop` stops it; the data lives in PG_DIR (under /tmp).
PG_PORT ?= 5433
PG_DIR  ?= /tmp/lookalike-pg-$(PG_PORT)
PG_URL  ?= postgresql+psycopg://lookalike@127.0.0.1:$(PG_PORT)/lookalike_test
PG_AS   := $(if $(filter 0,$(shell id -u)),su postgres -s /bin/sh -c,sh -c)

postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }
	@PGBIN=$$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); \
	if $$PGBIN/pg_isready -q -h 127.0.0.1 -p $(PG_PORT); then echo "postgres: already running on port $(PG_PORT)"; else \
	  mkdir -p $(PG_DIR); [ "$$(id -u)" = 0 ] && chown postgres: $(PG_DIR); chmod 700 $(PG_DIR); \
	  [ -f $(PG_DIR)/PG_VERSION ] || $(PG_AS) "$$PGBIN/initdb -D $(PG_DIR) -U postgres --auth=trust -E UTF8 >/dev/null"; \
	  $(PG_AS) "$$PGBIN/pg_ctl -D $(PG_DIR) -l $(PG_DIR)/server.log -w -o '-p $(PG_PORT) -k $(PG_DIR) -c listen_addresses=127.0.0.1' start >/dev/null" \
	    || { tail -20 $(PG_DIR)/server.log; exit 1; }; \
	fi; \
	PSQL="$$PGBIN/psql -q -h 127.0.0.1 -p $(PG_PORT) -U postgres -d postgres -tAc"; \
	[ "$$($$PSQL "SELECT 1 FROM pg_roles WHERE rolname='lookalike'")" = 1 ] || $$PSQL "CREATE ROLE lookalike LOGIN"; \
	[ "$$($$PSQL "SELECT 1 FROM pg_database WHERE datname='lookalike_test'")" = 1 ] || $$PSQL "CREATE DATABASE lookalike_test OWNER lookalike"; \
	echo "postgres: ready, LOOKALIKE_TEST_PG_URL=$(PG_URL)"

postgres-stop:
	@PGBIN=$$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); \
	[ ! -f $(PG_DIR)/postmaster.pid ] || $(PG_AS) "$$PGBIN/pg_ctl -D $(PG_DIR) -m fast -w stop >/dev/null"; \
	rm -rf $(PG_DIR)

bench: $(STAMP) postgres
	$(BIN)/python bench/foundation.py
	$(BIN)/python bench/evaluation.py
	$(BIN)/python bench/auto_study.py
	$(BIN)/python bench/auto_timing.py
	$(BIN)/python bench/transactions.py
	$(BIN)/python bench/scale.py
	LOOKALIKE_TEST_PG_URL=$(PG_URL) $(BIN)/python bench/campaigns.py

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/cleaning tests/reliability/test_fuzz.py

# Known vulnerabilities in the installed dependencies (needs the PyPI vulnerability service;
# not part of make test). The project itself is installed editable and not on PyPI: skipped.
# --strict: a dependency that could not be checked (service unreachable) fails the audit
# instead of reporting "no known vulnerabilities" for packages nobody looked at.
audit: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-audit
	$(BIN)/python -m pip_audit --skip-editable --strict --progress-spinner off

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis build src/*.egg-info

# Load test (not part of make test): N concurrent clients against a real `lookalike serve` on loopback for a
# fixed time, lookalike and expansion requests mixed; throughput, p50/p99, errors (must be 0), server memory.
.PHONY: load screenshots
load: $(STAMP)
	$(BIN)/python bench/load.py

# The browser tests, writing the README's screenshots into docs/screenshots (make test writes them to /tmp).
screenshots: $(STAMP) chromium
	LOOKALIKE_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/web
