# Two commands for a newcomer: `make demo` and `make test`. Every target builds .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# CDK's jsii runtime warns loudly on Node 20 (end of life 2026-04); synthesis itself is unaffected.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
PYTEST_ARGS ?=

.PHONY: install demo test lint unit integration infra e2e bench synth clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,cdk]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/arbiter demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/core/python/arbiter layers/core/python/arbiter_handlers cdk app.py benchmarks $(wildcard functions/*/*.py)

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

unit integration infra e2e: $(STAMP)
	$(BIN)/pytest -m $@ $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

synth: $(STAMP)
	CDK_OUTDIR=cdk.out $(BIN)/python app.py
	$(BIN)/cfn-lint --ignore-checks W3005 --regions eu-west-1 -- cdk.out/*.template.json
	@echo "synthesized into cdk.out/ (cdk-nag: no unacknowledged findings; cfn-lint: clean)"

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis bench-results.json
