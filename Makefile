# ihos: `make run` serves the demo hospital, `make test` runs the test suite.
# Everything installs into .venv (Python) and web/*/node_modules (front ends) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/ihos_test

.PHONY: run install test test-postgres lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Embedded mode with the demo hospital: SQLite under var/, sandboxes, background work in the process.
run: install
	$(BIN)/ihos migrate
	$(BIN)/ihos demo
	IHOS_DEMO=true $(BIN)/ihos serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest -p no:cacheprovider

test-postgres: install
	IHOS_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -p no:cacheprovider

lint: install
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/mypy
	$(BIN)/python -m ihos.kit.schema_check

format: install
	$(BIN)/ruff format src tests migrations bench
	$(BIN)/ruff check --fix src tests migrations bench

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var
