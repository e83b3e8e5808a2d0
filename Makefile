# singpass-gateway: `make dev` runs the local sandbox, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
export SAM_CLI_TELEMETRY := 0

.PHONY: install prerequisites dev test bench screenshot lint typecheck template unit integration e2e build deploy publish-site clean

install: prerequisites $(VENV)/.installed node_modules/.installed

# Python, Java and Node.js (and Chromium for the browser tests), each missing or too old named with how to install
# it. As root (a clean CI machine) the checker apt-installs the missing ones first.
CHECKER := $(shell for python in $(PYTHON) python3; do $$python -c "" 2>/dev/null && command -v $$python && break; done)
prerequisites:
	@echo "[1/4] Checking prerequisites ..."
	@if [ -z "$(CHECKER)" ]; then echo "  ✗ Python 3.11+ is missing (no working $(PYTHON) or python3 on PATH): it runs the gateway's handlers and the sandbox. Install it with Debian/Ubuntu: sudo apt-get install python3.11 python3.11-venv; macOS: brew install python@3.11." >&2; exit 1; fi
	@$(CHECKER) infra/prerequisites.py --python $(PYTHON) $(BROWSER) $(if $(filter 0,$(shell id -u)),--install-with-apt)

# Runs a command with its output kept in a temporary file, shown only when the command fails.
quietly = log=$$(mktemp) && { ( $(1) ) >"$$log" 2>&1 || { cat "$$log" >&2; rm -f "$$log"; echo "  ✗ failed: $(1)" >&2; exit 1; }; } && rm -f "$$log"

$(VENV)/.installed: pyproject.toml
	@echo "[2/4] Python packages into $(VENV) (first run: a few minutes) ..."
	@$(call quietly,$(PYTHON) -m venv $(VENV) && $(BIN)/pip install --disable-pip-version-check --upgrade pip && $(BIN)/pip install --disable-pip-version-check -e '.[dev]')
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "[3/4] Node packages into node_modules (first run: about a minute) ..."
	@$(call quietly,npm ci --no-audit --no-fund --loglevel=error)
	@touch $@

dev: install
	@echo "[4/4] Starting the sandbox ..."
	@$(BIN)/python -m infra.sandbox --port $(PORT)

# The browser tests and the screenshot need Chromium too.
test e2e screenshot: BROWSER := --browser

test: install lint typecheck template
	$(BIN)/pytest

# Benchmarks (not part of `make test`): figures into bench/results.json and docs/performance.md. The official
# sgID SDK, the CPU comparison's reference, pins an older `requests`, so it gets a virtualenv of its own.
bench: install .bench/sdk-venv/.installed
	$(BIN)/python -m bench

.bench/sdk-venv/.installed:
	$(PYTHON) -m venv .bench/sdk-venv
	.bench/sdk-venv/bin/pip install --quiet --disable-pip-version-check 'sgid-client==0.3.0'
	touch $@

# The README's picture of the demo's data card (docs/data-card.png); not part of `make test`, which writes nothing.
screenshot: install
	$(BIN)/python -m infra.sandbox.screenshot

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install
	$(BIN)/pytest tests/e2e

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

template: $(VENV)/.installed
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

build: $(VENV)/.installed
	$(BIN)/sam build

deploy: build
	$(BIN)/sam deploy --guided

# Upload frontend/ to the stack's S3 bucket and invalidate CloudFront (SiteHosting CloudFront). The stack name and
# region default to samconfig.toml's; STACK=... and REGION=... override them.
publish-site: $(VENV)/.installed
	$(BIN)/python -m infra.deploy publish $(if $(STACK),--stack-name $(STACK)) $(if $(REGION),--region $(REGION))

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .bench
