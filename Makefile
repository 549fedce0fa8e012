# ihos: `make run` serves the demo hospital, `make test` runs the test suite.
# Everything installs into .venv (Python) and web/*/node_modules (front ends) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/ihos_test

PATIENT := web/patient
CONSOLE := web/console
NPM_CI := npm ci --no-audit --no-fund --loglevel=error
PATIENT_SOURCES := $(shell find $(PATIENT)/src $(PATIENT)/index.html $(PATIENT)/vite.config.ts -type f 2>/dev/null)
CONSOLE_SOURCES := $(shell find $(CONSOLE)/src $(CONSOLE)/index.html $(CONSOLE)/vite.config.ts -type f 2>/dev/null)
H5_BUILD := $(PATIENT)/dist/build/h5/index.html
CONSOLE_BUILD := $(CONSOLE)/dist/index.html
OPENAPI_EXPORT := $(BIN)/python -m ihos.kit.openapi_export

.PHONY: run install test test-postgres lint format bench clean web-install web-build web-test web-api web-api-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Embedded mode with the demo hospital: SQLite under var/, sandboxes, background work in the process.
run: install $(H5_BUILD) $(CONSOLE_BUILD)
	$(BIN)/ihos migrate
	$(BIN)/ihos demo
	IHOS_DEMO=true $(BIN)/ihos serve --host $(HOST) --port $(PORT)

# The whole suite on SQLite, browser tests included (they use the built H5 app and console).
test: install $(H5_BUILD) $(CONSOLE_BUILD)
	$(BIN)/pytest -p no:cacheprovider

# The suite on PostgreSQL; the browser tests run once, with `make test`.
test-postgres: install
	IHOS_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -p no:cacheprovider -m "not e2e"

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

# Front ends: npm ci when a lock file changes; a build when its sources change.
$(PATIENT)/node_modules/.package-lock.json: $(PATIENT)/package-lock.json
	cd $(PATIENT) && $(NPM_CI)

$(CONSOLE)/node_modules/.package-lock.json: $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && $(NPM_CI)

web-install: $(PATIENT)/node_modules/.package-lock.json $(CONSOLE)/node_modules/.package-lock.json

$(H5_BUILD): $(PATIENT)/node_modules/.package-lock.json $(PATIENT_SOURCES)
	cd $(PATIENT) && npm run --silent build:h5

$(CONSOLE_BUILD): $(CONSOLE)/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	cd $(CONSOLE) && npm run --silent build

# Every target, with the mini-program checks (CI).
web-build: web-install
	cd $(PATIENT) && npm run build:h5 && npm run build:mp-weixin && npm run build:mp-alipay && npm run check-mp
	cd $(CONSOLE) && npm run build

web-test: web-install
	cd $(PATIENT) && npm test && npm run typecheck
	cd $(CONSOLE) && npm test && npm run typecheck

# The typed API client: export the OpenAPI document and regenerate the types; CI fails when stale.
web-api: install $(CONSOLE)/node_modules/.package-lock.json
	$(OPENAPI_EXPORT) > web/openapi.json
	node web/scripts/gen-api.mjs

web-api-check: install $(CONSOLE)/node_modules/.package-lock.json
	$(OPENAPI_EXPORT) --check web/openapi.json
	node web/scripts/gen-api.mjs --check

clean:
	rm -rf $(VENV) var $(PATIENT)/dist $(CONSOLE)/dist
