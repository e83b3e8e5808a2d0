# singpass-gateway: `make dev` runs the local sandbox, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
export SAM_CLI_TELEMETRY := 0

.PHONY: install prerequisites lock dev test bench screenshot lint typecheck template unit integration e2e build deploy publish-site clean

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

# The Python packages come from python.lock, as node_modules comes from package-lock.json: every package that
# pyproject.toml's dependencies and its `dev` extra need, and pip and setuptools (the build backend) too, each pinned
# with `==` and the sha256 of its files, for Python 3.11 on Linux x86_64 (glibc 2.28 or newer), wheels only.
# pyproject.toml's ranges say what the code is meant to work with; the lock is the set that is tested, so a new
# release upstream changes nothing here until the lock is upgraded on purpose. Installing needs nothing but pip.
# A changed lock reinstalls; a package dropped from it stays in $(VENV) until `rm -rf $(VENV)`.
LOCK := python.lock

$(VENV)/.installed: pyproject.toml $(LOCK)
	@echo "[2/4] Python packages into $(VENV) from $(LOCK) (first run: about a minute) ..."
	@$(call quietly,$(PYTHON) -m venv $(VENV) && $(BIN)/pip install --disable-pip-version-check --require-hashes --no-deps --requirement $(LOCK) && $(BIN)/pip install --disable-pip-version-check --no-deps --no-build-isolation --editable . && $(BIN)/pip check --disable-pip-version-check)
	@touch $@

# Upgrades the locks on purpose, the one way to change them: `make lock` takes every package to its newest release
# that pyproject.toml's ranges allow, `make lock PACKAGES="ruff mypy"` only those (and whatever they need; after adding
# a dependency to pyproject.toml, name it there to lock it and leave the rest as they are). The Lambda layer's locks
# (layers/gateway/*.lock, Python 3.13 on arm64, as the layer is built) keep the pins of its requirements.txt and
# tracing-requirements.txt and upgrade only what those need. Then `make test` installs the new set and tests it;
# commit the locks with what they needed. uv, at the version pinned here, resolves from PyPI in a throwaway virtualenv:
# nothing else uses it.
UV_VERSION := 0.13.9
LAYER := layers/gateway
BUILD_REQUIRES = $(PYTHON) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')"
lock: COMPILE = "$$tools/bin/uv" pip compile --no-config --quiet --only-binary :all: --emit-build-options --no-strip-extras \
	--generate-hashes --custom-compile-command 'make lock' $(if $(PACKAGES),$(addprefix --upgrade-package ,$(PACKAGES)),--upgrade)
lock:
	tools=$$(mktemp -d) && trap 'rm -rf "$$tools"' EXIT && $(PYTHON) -m venv "$$tools" \
	&& "$$tools/bin/pip" install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)' \
	&& { echo pip; $(BUILD_REQUIRES); } | $(COMPILE) pyproject.toml - --extra dev \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 --output-file $(LOCK) \
	&& $(COMPILE) $(LAYER)/requirements.txt \
		--python-version 3.13 --python-platform aarch64-manylinux2014 --output-file $(LAYER)/requirements.lock \
	&& $(COMPILE) $(LAYER)/tracing-requirements.txt --no-deps \
		--python-version 3.13 --python-platform aarch64-manylinux2014 --output-file $(LAYER)/tracing-requirements.lock

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
