# Two commands do everything: `make run` (install, build the demo, serve) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export RCC_ENV ?= development
export FLASK_APP := wsgi

.PHONY: run test install system-packages assets demo-db lint typecheck code clean validator-env demand-model-env

run: install demo-db
	@echo "Serving on http://127.0.0.1:5000 (Ctrl+C stops it)"
	$(BIN)/flask run --host 127.0.0.1 --port 5000

test: install
	bash scripts/test.sh

install: system-packages $(VENV)/.installed assets validator-env demand-model-env

system-packages:
	@bash scripts/system-packages.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

assets: rcc/static/govuk/govuk-frontend.min.css

# Tools that pin libraries the platform cannot share, each in its own environment; the app never imports
# them. The SSDA903 validator (DfE's rules, run by scripts/validate_903.py) and the demand model, whose
# package ships synthetic 903 years used as test input. About 30 s each the first time, nothing after.
validator-env: .venv-903/.installed
demand-model-env: .venv-demand/.installed

.venv-%/.installed: scripts/requirements-%.txt
	@test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$* || python3 -m venv .venv-$*
	.venv-$*/bin/pip install --quiet --only-binary=:all: -r $<
	@touch $@

# GOV.UK Frontend compiled with Arial and no GDS Transport font files (that typeface is for GOV.UK only).
rcc/static/govuk/govuk-frontend.min.css: package.json rcc/assets/govuk.scss
	npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
	rm -rf rcc/static/govuk && mkdir -p rcc/static/govuk/assets
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js rcc/static/govuk/
	cp -r node_modules/govuk-frontend/dist/govuk/assets/images node_modules/govuk-frontend/dist/govuk/assets/manifest.json rcc/static/govuk/assets/
	npx sass --load-path=node_modules --style=compressed --no-source-map --quiet-deps rcc/assets/govuk.scss $@

# A fresh demo database each time `make run` starts, so the demo is always the same.
demo-db:
	rm -f instance/rcc.db instance/rcc.db-wal instance/rcc.db-shm
	$(BIN)/flask upgrade-db
	$(BIN)/flask demo

code:
	@$(BIN)/flask code $(EMAIL)

lint:
	$(BIN)/ruff check $(wildcard rcc commissioning matching contracts cost_transparency tests benchmarks migrations) wsgi.py

typecheck:
	$(BIN)/mypy $(wildcard rcc commissioning matching contracts cost_transparency)

clean:
	rm -rf $(VENV) .venv-903 .venv-demand node_modules rcc/static/govuk instance
