# make run   set up (virtualenv, install, translations, migrations, demo county) and start everything
# make test  set up and run the test suite (PYTEST_ARGS='...' passes arguments to pytest)
# See README.md.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when pyproject.toml changes.
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=
export FLASK_APP := app

.DEFAULT_GOAL := help
.PHONY: help setup run test lint mutants bench bench-filing bench-soak translations instance system-packages system-packages-test clean distclean

help:
	@echo "make run        set up and start web + RQ worker + RQ cron (+ embedded Redis) on port \$${PORT:-5000}"
	@echo "make test       set up and run the tests (PYTEST_ARGS='-m \"not postgres\"' etc.)"
	@echo "make lint       ruff check and the import contracts (layers, a pure domain)"
	@echo "make mutants    mutation testing (mutmut) of the pure domain and the measures' formulas"
	@echo "make bench      HTTP load benchmark under gunicorn on PostgreSQL + Redis (BENCH_ARGS='--quick')"
	@echo "make bench-filing  filing benchmark on PostgreSQL (BENCH_ARGS='--n 2000')"
	@echo "make bench-soak    the system under load and faults for 10 minutes (BENCH_ARGS='--quick')"
	@echo "make clean      remove caches and compiled translations; make distclean also .venv and instance/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

setup: $(STAMP) translations

# Compiled catalogues (.mo) are build products; the .po files are the source.
translations: $(STAMP)
	@if compgen -G "translations/*/LC_MESSAGES/*.po" >/dev/null; then \
		$(BIN)/pybabel -q compile -d translations; \
	fi

# Debian packages beyond Python (fonts for PDF notices; chromium for the browser tests).
system-packages:
	@bash scripts/system-packages run

system-packages-test:
	@bash scripts/system-packages test

instance:
	@mkdir -p "$${INSTANCE_PATH:-instance}"

run: setup instance system-packages
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	exec $(BIN)/python -m ops.runner

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: setup system-packages-test
	@echo "$(BIN)/python -m pytest $(PYTEST_ARGS)"
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no test ran (pytest exit 5)" >&2; exit 1; fi; \
	exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Mutation testing: mutmut copies the tree into mutants/ and runs the fast tests against each
# mutant ([tool.mutmut] in pyproject.toml); it prints the survivors. See docs/mutants.md.
mutants: setup
	$(BIN)/mutmut run --max-children $${MUTANTS_JOBS:-2}; rc=$$?; \
	$(BIN)/mutmut results; exit $$rc

bench: setup
	$(BIN)/python bench/http_load.py $(BENCH_ARGS)

bench-filing: $(STAMP)
	$(BIN)/python bench/filing.py $(BENCH_ARGS)

bench-soak: setup
	$(BIN)/python bench/soak.py $(BENCH_ARGS)

clean:
	rm -rf .pytest_cache .ruff_cache test-results bench/out *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	find translations -name '*.mo' -delete 2>/dev/null || true

distclean: clean
	rm -rf $(VENV) instance
