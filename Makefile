# FlowUI: `make run` brings the platform up, `make test` runs every test. Both are idempotent.
PYTHON ?= python3
VENV := .venv
AIRFLOW_VENV := .airflow-venv
PY := $(VENV)/bin/python
# Installs come from the hash-pinned locks (`make lock` regenerates them from the requirements*.txt files);
# the stamp changes with the lock or the runtime's pyproject, so `make setup` reinstalls only then.
STAMP_PLATFORM := $(VENV)/.installed-$(shell cat requirements.lock runtime/pyproject.toml | sha1sum | cut -c1-12)
STAMP_AIRFLOW := $(AIRFLOW_VENV)/.installed-$(shell cat requirements-airflow.lock runtime/pyproject.toml | sha1sum | cut -c1-12)

.PHONY: setup run stop test lint services chromium sandbox clean lock dist

setup: $(STAMP_PLATFORM) $(STAMP_AIRFLOW) chromium sandbox

# uv installs the pinned requirements in seconds where pip takes minutes; pip is the fallback.
UV_VERSION := 0.13.9
# $(1): the venv, $(2): its lock. Every package (direct or not) at the lock's version and hash; then the
# runtime distribution (runtime/pyproject.toml, `flowui-operator`) as an editable install of this checkout.
define install
	@if $(VENV)/bin/uv --version >/dev/null 2>&1; then \
	  $(VENV)/bin/uv pip install -q --python $(1)/bin/python --require-hashes -r $(2) \
	  && $(VENV)/bin/uv pip install -q --python $(1)/bin/python --no-deps -e ./runtime; \
	else \
	  $(1)/bin/python -m pip install -q --require-hashes -r $(2) \
	  && $(1)/bin/python -m pip install -q --no-deps -e ./runtime; \
	fi
endef

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/bin/uv: | $(PY)
	@$(PY) -m pip install -q uv==$(UV_VERSION) >/dev/null 2>&1 || echo "flowui: uv unavailable, installing with pip (slower)"

$(STAMP_PLATFORM): requirements.lock runtime/pyproject.toml | $(VENV)/bin/uv
	@echo "flowui: installing the platform's locked requirements (requirements.lock) into $(VENV)/"
	$(call install,$(VENV),requirements.lock)
	@rm -f $(VENV)/.installed-* && touch $@

$(STAMP_AIRFLOW): requirements-airflow.lock runtime/pyproject.toml | $(VENV)/bin/uv
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	@echo "flowui: installing Apache Airflow (requirements-airflow.lock) and flowui-runtime into $(AIRFLOW_VENV)/"
	$(call install,$(AIRFLOW_VENV),requirements-airflow.lock)
	@rm -f $(AIRFLOW_VENV)/.installed-* && touch $@

# The locks, regenerated from the requirements*.txt files (run after editing one; commit the .lock files):
# requirements.lock (platform + dev tools: `make setup`), requirements-platform.lock (the same pins without the
# dev tools: the platform image) and requirements-airflow.lock (Airflow's venv and image). Airflow's published
# constraints file is used when AIRFLOW_CONSTRAINTS names a readable file or URL (see README, "Locks").
LOCK_FLAGS := --quiet --generate-hashes --python-version 3.11 --no-header
lock: | $(VENV)/bin/uv
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) requirements.txt requirements-dev.txt -o requirements.lock
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) requirements.txt -c requirements.lock -o requirements-platform.lock
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) requirements-airflow.txt $(if $(AIRFLOW_CONSTRAINTS),-c $(AIRFLOW_CONSTRAINTS)) \
	  -o requirements-airflow.lock

# The runtime distribution as a wheel: dist/flowui_runtime-<version>-py3-none-any.whl (pip install it anywhere).
dist: | $(VENV)/bin/uv
	$(VENV)/bin/uv build -q --wheel runtime -o dist
	@rm -rf runtime/build runtime/*.egg-info
	@ls dist/flowui_runtime-*.whl

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
