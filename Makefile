# FlowUI: `make run` brings the platform up, `make test` runs every test. Both are idempotent.
PYTHON ?= python3
VENV := .venv
AIRFLOW_VENV := .airflow-venv
PY := $(VENV)/bin/python
STAMP_PLATFORM := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
STAMP_AIRFLOW := $(AIRFLOW_VENV)/.installed-$(shell sha1sum requirements-airflow.txt | cut -c1-12)

.PHONY: setup run stop test lint services chromium clean

setup: $(STAMP_PLATFORM) $(STAMP_AIRFLOW) chromium

$(STAMP_PLATFORM): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

$(STAMP_AIRFLOW): requirements-airflow.txt
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install -q -r requirements-airflow.txt
	@rm -f $(AIRFLOW_VENV)/.installed-* && touch $@

# Browser tests use Debian's Chromium (Playwright never downloads a browser here).
chromium:
	@test -x /usr/bin/chromium || { echo "flowui: installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "flowui: could not install chromium (browser tests will fail): apt-get install chromium"; }

services: $(STAMP_PLATFORM)
	@$(PY) -m devstack services

run: setup
	@$(PY) -m devstack run

stop:
	@test -x $(PY) && $(PY) -m devstack stop || echo "flowui: nothing to stop (no .venv)"

test: setup services
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP_PLATFORM)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
