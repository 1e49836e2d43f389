# Two commands on a fresh machine: `make demo` and `make test`.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= demo
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: demo test test-slow test-server bench lint docs clean venv data

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nasgen demo --profile $(PROFILE)

# Real data the tests and benchmarks read: Debian's Fashion-MNIST (Zalando's four idx.gz files, Expat licence).
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
data:
	@if [ -f $(FASHION_MNIST) ]; then echo "Fashion-MNIST: installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null); \
	else echo "Fashion-MNIST: run 'sudo apt-get install dataset-fashion-mnist', or set NASGEN_FASHION_MNIST to a"; \
	  echo "directory holding Zalando's four idx.gz files (its tests are skipped until then)"; fi

# One pytest worker per core (pytest-xdist), each test file on one worker so its fixtures are built once; files
# marked heavy are handed out first (tests/conftest.py), in collection order, so both workers finish together.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

# A real Prefect server, pools, workers, deployments, a killed worker and a UI screenshot; concurrent generate
# requests and a short soak (several minutes).
test-server: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests/test_real_server.py tests/test_load.py

bench: $(STAMP)
	$(BIN)/nasgen bench space --json
	$(BIN)/nasgen bench zc --json

lint: $(STAMP)
	$(BIN)/ruff check nasgen tasks flows benchmarks deployments tests
	$(BIN)/ruff format --check nasgen tasks flows benchmarks deployments tests
	$(BIN)/lint-imports

# The documentation site (mkdocs.yml, docs/) into site/; --strict: a broken link, page or anchor fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) artifacts .pytest_cache site
