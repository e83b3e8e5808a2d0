# singpass-gateway: `make dev` runs the local sandbox, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
export SAM_CLI_TELEMETRY := 0

.PHONY: install dev test bench lint typecheck template unit integration e2e build deploy publish-site clean

install: $(VENV)/.installed node_modules/.installed system-packages

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Java runs DynamoDB Local; Chromium runs the browser tests. Debian packages, installed when missing.
system-packages:
	@missing=""; command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "Please install:$$missing (e.g. sudo apt-get install$$missing)"; exit 1; fi; \
	fi

dev: install
	$(BIN)/python -m infra.sandbox --port $(PORT)

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
.PHONY: screenshot
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
