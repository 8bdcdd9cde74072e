# Tokensmith — the two commands of the README are `make run` and `make test`.
# Everything they need is installed here, into git-ignored folders: .tools/ (uv, aws-sam-cli,
# DynamoDB Local) and .venv/ (the project, from uv.lock).

SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
SAM := $(TOOLS)/bin/sam
UV_VERSION := 0.13.9
SAM_VERSION := 1.170.0
export SAM_CLI_TELEMETRY := 0
export UV_PYTHON_DOWNLOADS := never
PORT ?= 3000
PYTEST_ARGS ?=
CHROMIUM ?= /usr/bin/chromium


.PHONY: help runtime-tests chromium run sweep bench backfill openapi fuzz test lint tools venv unit integration dynamodb-local e2e tooling lint-template checkov build deploy layer-requirements bootstrap clean
.DEFAULT_GOAL := help

## make help: this list (a bare `make` prints it too)
help:
	@awk '/^## make /{print substr($$0, 4); more = 1; next} more && /^## /{print "    " substr($$0, 4); next} {more = 0}' \
		$(firstword $(MAKEFILE_LIST))

## uv for everything (make run and make test need nothing else); aws-sam-cli only for the targets that run sam
$(TOOLS)/bin/pip:
	$(PYTHON) -m venv $(TOOLS)

$(UV): | $(TOOLS)/bin/pip
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SAM): | $(TOOLS)/bin/pip
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION)

## make tools: install uv and aws-sam-cli into .tools/ (each target installs what it needs by itself)
tools: $(UV) $(SAM)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

venv: .venv/.synced

## the template checkers (checkov, aws-sam-translator) pin old urllib3 and packaging: their own group and venv
.venv-iac/.synced: $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=.venv-iac $(UV) sync --frozen --quiet --no-default-groups --group iac
	touch $@

## make run: the API on http://127.0.0.1:3000 (PORT=...) with an embedded DynamoDB and an admin token;
## METRICS=1 also prints every invocation's metrics (EMF JSON lines)
run: venv
	$(UV) run --frozen python -m devtools.run --port $(PORT) $(if $(DYNAMODB),--dynamodb $(DYNAMODB)) $(if $(METRICS),--metrics) \
		$(if $(SCHEDULE_INTERVAL),--schedule-interval $(SCHEDULE_INTERVAL))

## make sweep: run the expiry sweep of a running `make run` once, now
sweep:
	curl -sS --fail-with-body -X POST http://127.0.0.1:$(PORT)/__local/schedules/ExpireTokensFunction; echo

## make test: lint, the template checks (cfn-lint, checkov), every suite, then sam build
test: venv lint lint-template checkov chromium
	$(UV) run --frozen pytest -n 2 --dist loadfile $(PYTEST_ARGS)
	$(MAKE) runtime-tests
	@if [ -z "$(PY313)" ] && [ -z "$$CI" ]; then \
		echo "WARNING: ******** no Python 3.13: make build runs with ALLOW_NO_BYTECODE=1 (a layer for tests only, not to deploy) ********" >&2; \
	fi
	$(MAKE) build $(if $(PY313),,$(if $(CI),,ALLOW_NO_BYTECODE=1))

## make runtime-tests: the unit and integration suites again on Lambda's Python 3.13 (python3.13 on PATH, else
## pyenv's), in .venv-py313; the suites above run on this host's Python
PY313 ?= $(firstword $(foreach py,$(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.13*/bin/python3.13) \
	$(shell command -v python3.13 2>/dev/null),$(shell $(py) -c 'print("$(py)")' 2>/dev/null)))
export PYTHON_RUNTIME := $(or $(PY313),python3.13)

runtime-tests: $(UV)
	@if [ -z "$(PY313)" ]; then \
		echo "WARNING: ******** no Python 3.13 found: the suites did not run on Lambda's Python ********" >&2; \
		if [ -n "$$CI" ]; then exit 1; fi; \
	else \
		UV_PROJECT_ENVIRONMENT=.venv-py313 $(UV) sync --frozen --quiet --python $(PY313) && \
		.venv-py313/bin/python -m pytest -n 2 --dist loadfile -p no:cacheprovider tests/unit tests/integration $(PYTEST_ARGS); \
	fi

## make chromium: Debian's Chromium for the console's browser tests (tests/e2e/test_console.py): installed with apt-get
## when missing and we are root; otherwise those tests say so loudly and skip (under CI=true they fail).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium with apt-get for the console's browser tests ..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				-o DPkg::Lock::Timeout=600 chromium >/dev/null; \
		else \
			echo "WARNING: $(CHROMIUM) is missing and cannot be installed here (not root, or no apt-get):" \
				"the console's browser tests will be SKIPPED (apt-get install chromium)" >&2; \
		fi; \
	fi

## make lint: ruff (check and format) and mypy
lint: venv
	$(UV) run --frozen ruff check layers functions tests devtools bench
	$(UV) run --frozen ruff format --check layers functions tests devtools bench
	$(UV) run --frozen mypy layers/common/tokensmith functions devtools

## make unit, make integration, make dynamodb-local, make e2e: one suite (PYTEST_ARGS=... passes options)
unit: venv
	$(UV) run --frozen pytest tests/unit $(PYTEST_ARGS)

integration: venv
	$(UV) run --frozen pytest tests/integration $(PYTEST_ARGS)

dynamodb-local: venv
	$(UV) run --frozen pytest tests/dynamodb_local $(PYTEST_ARGS)

e2e: venv
	$(UV) run --frozen pytest tests/e2e $(PYTEST_ARGS)

## make fuzz: the long schemathesis run (make test runs 20 examples per operation); FUZZ_SEED=random varies it
FUZZ_EXAMPLES ?= 500
fuzz: venv
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(UV) run --frozen pytest tests/e2e/test_fuzz.py $(PYTEST_ARGS)

## make lint-template: sam validate --lint (installs aws-sam-cli)
lint-template: $(SAM)
	$(SAM) validate --lint

## make checkov: checkov on the SAM-transformed template (checkov cannot see the IAM that SAM generates): zero failed checks;
## every skip is in the resource's Metadata with its reason
checkov: .venv-iac/.synced
	.venv-iac/bin/python -m devtools.checkov_template --output .aws-sam/checkov/template.json
	.venv-iac/bin/checkov -f .aws-sam/checkov/template.json --framework cloudformation --compact --quiet --skip-download

## make build: sam build, without Docker: the layer's Makefile installs arm64 wheels with uv and compiles them with
## Python 3.13 (it refuses without one unless ALLOW_NO_BYTECODE=1); then every module must have its bytecode
build: $(SAM) $(UV)
	$(SAM) build --parallel
	$(PYTHON) -m devtools.layer_bytecode .aws-sam/build/CommonLayer

## make deploy: make build, then sam deploy with samconfig.toml's answers (GUIDED=1 asks for them and saves them)
deploy: build
	$(SAM) deploy $(if $(GUIDED),--guided) $(DEPLOY_ARGS)

## regenerate the layer's pinned requirements from uv.lock, and the DynamoDB cut of botocore's endpoint data
layer-requirements: $(UV) venv
	$(UV) export --frozen --no-dev --no-hashes --no-header --no-annotate --format requirements-txt > layers/common/requirements.txt
	PYTHONPATH=layers/common $(UV) run --frozen python -m tokensmith.aws.endpoints

## make bootstrap TABLE=<TableName> [ENDPOINT=http://...] [ORG=platform] — print a new admin token's secret
bootstrap: venv
	PYTHONPATH=layers/common $(UV) run --frozen python -m tokensmith.bootstrap --table $(TABLE) \
		$(if $(ENDPOINT),--endpoint-url $(ENDPOINT)) $(if $(ORG),--organization-id $(ORG))

## make backfill TABLE=<TableName> [ENDPOINT=http://...] — give tokens written before the list indexes
## their keys (one-off, resumable, idempotent: safe to run twice; progress on stderr)
backfill: venv
	PYTHONPATH=layers/common:. $(UV) run --frozen python -m devtools.backfill --table $(TABLE) \
		$(if $(ENDPOINT),--endpoint-url $(ENDPOINT))

## make openapi: regenerate docs/openapi.json from the code (a test fails while it is stale)
openapi: venv
	$(UV) run --frozen python -m devtools.openapi --write

## make bench: the benchmarks (not part of make test); figures land in bench/results/ and docs/
## make bench BENCH=verify (or sweep, coldstart, leaked, list) runs one; BENCH_ARGS="--help" shows its options
BENCH ?=
BENCH_ARGS ?=
bench: venv
	PYTHONPATH=layers/common:. $(UV) run --frozen python -m bench $(BENCH) $(if $(BENCH_ARGS),-- $(BENCH_ARGS))

## make clean: remove the builds and the virtual environments (not .tools/)
clean:
	rm -rf .aws-sam .venv .venv-py313 .venv-iac .pytest_cache
