# Two commands for a newcomer: `make demo` and `make test`. Every target builds .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# CDK's jsii runtime warns loudly on Node 20 (end of life 2026-04); synthesis itself is unaffected.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true
PYTEST_ARGS ?= -n 2
# The CDK command line pinned in package.json / package-lock.json, installed by `npm ci`: never npx, never a prompt.
CDK := node_modules/.bin/cdk
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | sha1sum | cut -c1-12)
# The same app command as cdk.json's, with this Makefile's venv (cdk.json's context applies either way).
CDK_APP := --app "$(BIN)/python app.py" --no-notices
# Extra context for synth/diff/deploy, e.g. CONTEXT='-c env=prod -c mode=live -c venues=binance,kraken'.
CONTEXT ?=

# The operators' console (console/): its own package.json and lockfile; `npm ci` when the lock changes, vite builds
# console/dist, which `arbiter api`, `arbiter demo --serve`, the browser tests and the stack's bucket serve.
CONSOLE_STAMP := console/node_modules/.installed-$(shell cat console/package-lock.json | sha1sum | cut -c1-12)
CONSOLE_SOURCES := $(shell find console/src -type f) console/index.html console/vite.config.js console/package.json
CONSOLE := console/dist/index.html

# Debian's chromium for the browser checks (report, console): Playwright drives it; its own download cannot work here.
CHROMIUM := /usr/bin/chromium

.PHONY: install browser console demo test lint unit integration infra e2e bench synth diff deploy lock clean

install: $(STAMP) $(NODE_STAMP) browser console

browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get install -y --no-install-recommends chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,cdk]'
	rm -f $(VENV)/.installed-*
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	rm -f node_modules/.installed-*
	touch $@

console: $(CONSOLE)

$(CONSOLE_STAMP): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --silent
	rm -f console/node_modules/.installed-*
	touch $@

$(CONSOLE): $(CONSOLE_STAMP) $(CONSOLE_SOURCES)
	cd console && npm run --silent build -- --logLevel warn
	touch $@

demo: $(STAMP) $(CHROMIUM) $(CONSOLE)
	$(BIN)/arbiter demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/core/python/arbiter layers/core/python/arbiter_handlers cdk app.py benchmarks $(wildcard functions/*/*.py)

test: lint $(NODE_STAMP) $(CHROMIUM) $(CONSOLE)
	$(BIN)/pytest $(PYTEST_ARGS)

unit e2e: $(STAMP)
	$(BIN)/pytest -m $@ $(PYTEST_ARGS)

# The console's browser tests are integration tests: they need the built console and chromium.
integration: $(STAMP) $(CHROMIUM) $(CONSOLE)
	$(BIN)/pytest -m $@ $(PYTEST_ARGS)

infra: $(STAMP) $(NODE_STAMP) $(CONSOLE)
	$(BIN)/pytest -m $@ $(PYTEST_ARGS)

bench: $(STAMP) $(CHROMIUM) $(CONSOLE)
	$(BIN)/python -m benchmarks.run

# What `make deploy` ships is what `make synth` checks: the same CLI, app, context and cdk.out.
synth: $(STAMP) $(NODE_STAMP) $(CONSOLE)
	$(CDK) synth $(CDK_APP) --quiet --output cdk.out $(CONTEXT)
	$(BIN)/cfn-lint --ignore-checks W3005 --regions eu-west-1 -- cdk.out/*.template.json
	@echo "synthesized into cdk.out/ (cdk-nag: no unacknowledged findings; cfn-lint: clean)"

diff: synth
	$(CDK) diff --app cdk.out --no-notices

# Deploys the assembly `make synth` just checked (--app cdk.out: nothing is synthesized a second time). No TTY
# is needed: review `make diff` first; IAM changes are not asked about.
deploy: synth
	$(CDK) deploy --app cdk.out --no-notices --require-approval never --all

# After a change to pyproject.toml's runtime dependencies: the dependency layer's exact versions, resolved for the
# Lambda platform (tests/infra/test_layers.py fails while the lock and pyproject.toml disagree).
lock: $(STAMP)
	$(BIN)/python -c "from cdk.arbiter_constructs.lambda_layers import write_lock; write_lock()"

clean:
	rm -rf $(VENV) node_modules console/node_modules console/dist cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis bench-results.json
