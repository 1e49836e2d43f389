# Two commands on a fresh machine: `make demo` and `make test`.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= demo
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: demo test test-slow test-server bench lint docs clean venv

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nasgen demo --profile $(PROFILE)

# One pytest worker per core (pytest-xdist), each test file on one worker so its fixtures are built once.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

# A real Prefect server, pools, workers, deployments, a killed worker and a UI screenshot (several minutes).
test-server: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests/test_real_server.py

bench: $(STAMP)
	$(BIN)/nasgen bench space --json
	$(BIN)/nasgen bench zc --json

lint: $(STAMP)
	$(BIN)/ruff check nasgen tasks flows benchmarks deployments cli tests
	$(BIN)/ruff format --check nasgen tasks flows benchmarks deployments cli tests
	$(BIN)/lint-imports

# The documentation site (mkdocs.yml, docs/) into site/; --strict: a broken link, page or anchor fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) artifacts .pytest_cache
