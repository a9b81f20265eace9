# Lookalike — every command sets up what it needs from nothing, with the versions locked in requirements/.
#   make demo         create .venv from the runtime lock, run the demo on built-in synthetic data (writes out/)
#   make check        the fast test loop: everything but the tests marked slow, postgres, spark or browser
#   make test         create .venv from the test lock, start PostgreSQL, install Chromium and Java if missing,
#                     run the whole suite (unit, CLI, doctests, database, Spark, browser); what CI runs
#   make test-latest  the whole suite against the newest release of every dependency (throwaway venv)
#   make lock         re-resolve requirements/*.txt to the newest releases (then make test, and commit them)
#   make bench        create .venv from the bench lock, run the benchmarks (writes bench/results/; ~15 min)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One stamp per lock, named after a checksum of the lock, the build lock and pyproject.toml: a changed lock
# reinstalls, an unchanged one costs nothing.
stamp   = $(VENV)/.installed-$(1)-$(shell cat requirements/build.txt requirements/$(1).txt pyproject.toml | cksum | cut -d' ' -f1)
RUNTIME := $(call stamp,runtime)
TEST    := $(call stamp,test)
BENCH   := $(call stamp,bench)
# Bytecode is compiled at install, pip's default, and so is the project's own (an editable install leaves
# src/ uncompiled): where PYTHONDONTWRITEBYTECODE is set, as in CI images and containers, Python never
# writes it on first use, and every process would compile pandas, scikit-learn and SciPy from source
# (2-3 s each: lookalike demo took 11.8-12.0 s on a fresh clone, 9-10 s with the bytecode)
PIP     := $(BIN)/python -m pip install --quiet
# make check: no servers, no browser, no Java, 50 Hypothesis examples per property instead of 200; two
# workers on this 2-core machine, each taking whole files (a module's fixtures are built once) and each
# single-threaded (OMP_NUM_THREADS=1: FAISS and BLAS threads in both workers oversubscribed the cores,
# the index tests took 40% longer)
CHECK   := -m "not slow and not postgres and not spark and not browser" -n 2 --dist loadfile

.PHONY: demo check test test-latest lock bench fuzz audit install clean postgres postgres-stop chromium java

# Exactly the hash-checked pins of requirements/<lock>.txt, then the project itself (editable; its
# dependencies are all in the lock, and its build backend comes from requirements/build.txt).
$(VENV)/.installed-%:
	@$(PYTHON) -c 'import sys; sys.version_info >= (3, 11) or sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0] + "; run make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes -r requirements/build.txt
	$(PIP) --require-hashes -r requirements/$(firstword $(subst -, ,$*)).txt
	$(PIP) --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q src/lookalike
	@rm -f $(VENV)/.installed-$(firstword $(subst -, ,$*))-*
	@touch $@

# make install: the runtime lock; make install LOCK=test (the dev container's post-create step) or LOCK=bench
LOCK ?= runtime
install: $(call stamp,$(LOCK))

demo: $(RUNTIME)
	$(BIN)/lookalike demo --out out

check: $(TEST)
	HYPOTHESIS_PROFILE=check OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q $(CHECK) --doctest-modules src/lookalike tests

test: $(TEST) postgres chromium java
	LOOKALIKE_TEST_PG_URL=$(PG_URL) $(BIN)/python -m pytest -q --doctest-modules src/lookalike tests

# The suite against what a machine without the lock would get today: the newest release of every
# dependency, in a throwaway venv (.venv and the lock are untouched). It lists the versions that differ
# from the lock; red here and green in `make test` is an upstream change to handle before the next `make lock`.
test-latest: postgres chromium java
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	$(PYTHON) -m venv "$$d/venv" && \
	"$$d/venv/bin/python" -m pip install --quiet --no-compile --upgrade pip setuptools wheel && \
	"$$d/venv/bin/python" -m pip install --quiet --no-compile --upgrade --upgrade-strategy eager -e '.[test,bench]' && \
	echo "test-latest: installed versions that differ from the lock:" && \
	"$$d/venv/bin/python" -m pip list --format=freeze --exclude-editable | tr 'A-Z_' 'a-z-' | sort > "$$d/latest" && \
	grep -ho '^[a-z0-9._-]*==[^ ;]*' requirements/all.txt requirements/build.txt | tr '_' '-' | sort | comm -13 - "$$d/latest" | sed 's/^/  /' ; \
	LOOKALIKE_TEST_PG_URL=$(PG_URL) "$$d/venv/bin/python" -m pytest -q -p no:cacheprovider --doctest-modules src/lookalike tests

# Re-resolve every lock to the newest releases (LOCK_FLAGS= keeps the current pins where they still fit).
# all.txt resolves every extra together; the other locks are resolved inside it, so any two agree.
# uv: resolves in seconds, and --universal writes one lock for Linux, macOS and Windows (markers where they differ).
UV_VERSION ?= 0.13.9
LOCK_FLAGS ?= --upgrade
EXTRAS     := test bench postgres spark
UV_COMPILE  = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
              --custom-compile-command 'make lock' $(LOCK_FLAGS)
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(UV_COMPILE) requirements/build.in -o requirements/build.txt
	$(UV_COMPILE) pyproject.toml --all-extras -o requirements/all.txt
	$(UV_COMPILE) pyproject.toml -c requirements/all.txt -o requirements/runtime.txt
	@for extra in $(EXTRAS); do echo "lock: $$extra"; \
	  $(UV_COMPILE) pyproject.toml --extra $$extra -c requirements/all.txt -o requirements/$$extra.txt || exit 1; done
	@git diff --stat -- requirements/ 2>/dev/null || true
	@echo "lock: done; run make test (and make demo), then commit requirements/"

# Java for the Spark tests (PySpark 4 needs Java 17+): Debian's default JRE, installed if missing.
# (Slim Debian images lack the man directory the JRE's install script writes to.)
java:
	@command -v java >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO mkdir -p /usr/share/man/man1; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless >/dev/null; }
	@java -version 2>&1 | awk -F'"' '/version/ { split($$2, v, "."); if (v[1] + 0 < 17) { \
	  print "java: PySpark needs Java 17 or newer, found " $$2 "; install openjdk-17-jre-headless and put it first on PATH"; exit 1 } }'

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

bench: $(BENCH) postgres
	$(BIN)/python bench/foundation.py
	$(BIN)/python bench/evaluation.py
	$(BIN)/python bench/auto_study.py
	$(BIN)/python bench/auto_timing.py
	$(BIN)/python bench/transactions.py
	$(BIN)/python bench/scale.py
	LOOKALIKE_TEST_PG_URL=$(PG_URL) $(BIN)/python bench/campaigns.py

fuzz: $(TEST)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/cleaning tests/reliability/test_fuzz.py

# Known vulnerabilities in the installed dependencies (needs the PyPI vulnerability service;
# not part of make test). The project itself is installed editable and not on PyPI: skipped.
# --strict: a dependency that could not be checked (service unreachable) fails the audit
# instead of reporting "no known vulnerabilities" for packages nobody looked at.
audit: $(TEST)
	$(BIN)/python -m pip install --quiet pip-audit
	$(BIN)/python -m pip_audit --skip-editable --strict --progress-spinner off

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis build src/*.egg-info

# Load test (not part of make test): N concurrent clients against a real `lookalike serve` on loopback for a
# fixed time, lookalike and expansion requests mixed; throughput, p50/p99, errors (must be 0), server memory.
.PHONY: load screenshots
load: $(BENCH)
	$(BIN)/python bench/load.py

# The browser tests, writing the README's screenshots into docs/screenshots (make test writes them to /tmp).
screenshots: $(TEST) chromium
	LOOKALIKE_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/web
