# FlowUI: `make run` brings the platform up, `make test` runs every test. Both are idempotent.
PYTHON ?= python3
VENV := .venv
AIRFLOW_VENV := .airflow-venv
PY := $(VENV)/bin/python
STAMP_PLATFORM := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
STAMP_AIRFLOW := $(AIRFLOW_VENV)/.installed-$(shell sha1sum requirements-airflow.txt | cut -c1-12)

.PHONY: setup run stop test lint services chromium sandbox clean

setup: $(STAMP_PLATFORM) $(STAMP_AIRFLOW) chromium sandbox

# uv installs the pinned requirements in seconds where pip takes minutes; pip is the fallback.
UV_VERSION := 0.13.9
define install
	@if $(VENV)/bin/uv --version >/dev/null 2>&1; then \
	  $(VENV)/bin/uv pip install -q --python $(1)/bin/python -r $(2); \
	else \
	  $(1)/bin/python -m pip install -q -r $(2); \
	fi
endef

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/bin/uv: | $(PY)
	@$(PY) -m pip install -q uv==$(UV_VERSION) >/dev/null 2>&1 || echo "flowui: uv unavailable, installing with pip (slower)"

$(STAMP_PLATFORM): requirements.txt requirements-dev.txt | $(VENV)/bin/uv
	@echo "flowui: installing the platform's requirements into $(VENV)/"
	$(call install,$(VENV),requirements-dev.txt)
	@rm -f $(VENV)/.installed-* && touch $@

$(STAMP_AIRFLOW): requirements-airflow.txt | $(VENV)/bin/uv
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	@echo "flowui: installing Apache Airflow into $(AIRFLOW_VENV)/"
	$(call install,$(AIRFLOW_VENV),requirements-airflow.txt)
	@rm -f $(AIRFLOW_VENV)/.installed-* && touch $@

# Browser tests use Debian's Chromium (Playwright never downloads a browser here).
chromium:
	@test -x /usr/bin/chromium || { echo "flowui: installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "flowui: could not install chromium (browser tests will fail): apt-get install chromium"; }

# Tenant code runs in bubblewrap; operators that declare network get slirp4netns (Debian packages).
sandbox:
	@{ command -v bwrap && command -v slirp4netns; } >/dev/null 2>&1 || { \
	  echo "flowui: installing bubblewrap and slirp4netns (the sandbox for tenant code)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap slirp4netns >/dev/null) \
	  || echo "flowui: could not install the sandbox: apt-get install bubblewrap slirp4netns"; }

services: $(STAMP_PLATFORM)
	@$(PY) -m devstack services

run: setup
	@$(PY) -m devstack run

stop:
	@test -x $(PY) && $(PY) -m devstack stop || echo "flowui: nothing to stop (no .venv)"

test: setup services
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(STAMP_PLATFORM)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
