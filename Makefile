# Lookalike — every command sets up what it needs from nothing.
#   make demo   create .venv, install, run the demo on built-in synthetic data (writes out/)
#   make test   create .venv, install, run the whole test suite (unit, CLI, doctests)
#   make bench  create .venv, install, run the benchmarks (writes bench/results/; ~15 min)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench fuzz install clean

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

test: $(STAMP)
	$(BIN)/python -m pytest -q --doctest-modules src/lookalike tests

bench: $(STAMP)
	$(BIN)/python bench/foundation.py
	$(BIN)/python bench/evaluation.py

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/cleaning

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis build src/*.egg-info
