"""The deployment files lint clean and keep their promises (issue 14, item 7). Docker
cannot run here: these are static checks, plus the compose client's own validation when
one is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

BIN = Path(sys.executable).parent
DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_hadolint_passes():
    result = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "info", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_matches_the_compose_specification():
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose (the compose client) not installed")
def test_compose_client_accepts_the_file(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(REPO / "deploy", project / "deploy", ignore=shutil.ignore_patterns("secrets"))
    shutil.copy(REPO / "docker-compose.yml", project)
    subprocess.run([str(project / "deploy" / "make-secrets.sh")], check=True, capture_output=True, timeout=60)
    result = subprocess.run(
        ["docker-compose", "config", "--quiet"], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_image_is_multi_stage_pinned_non_root_with_static_files_healthcheck_and_garaga():
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", DOCKERFILE, re.M)
    assert [name for _, name in stages] == ["build", "runtime"]
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", DOCKERFILE, re.M).group(1)
    assert re.fullmatch(r"python:3\.11[\w.-]*@sha256:[0-9a-f]{64}", base)
    assert re.search(r"^USER 10001:10001$", DOCKERFILE, re.M)
    assert "collectstatic" in DOCKERFILE and "HEALTHCHECK" in DOCKERFILE
    assert "requirements-garaga.txt" in DOCKERFILE
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "fossil.wsgi:application"]' in DOCKERFILE


def test_dockerignore_keeps_state_and_secrets_out():
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".venv/", ".run/", ".git/", "deploy/secrets/", "**/*.pem"):
        assert entry in ignored


def test_compose_runs_every_process_with_restart_policies_and_the_key_as_a_secret():
    services = COMPOSE["services"]
    assert {"postgres", "sqs", "setup", "web", "worker-proofs", "worker-light", "beat"} <= set(services)
    for name in ("postgres", "sqs", "web", "worker-proofs", "worker-light", "beat"):
        assert services[name]["restart"] == "unless-stopped", name
    for name in ("web", "worker-proofs", "worker-light", "beat"):
        assert "prover_key" in services[name]["secrets"]
        assert services[name]["environment"]["PROVER_KEY_FILE"] == "/run/secrets/prover_key"
        assert services[name]["environment"]["FOSSIL_REQUIRE_SECRETS"] == "true"
    assert "-Q" in services["worker-proofs"]["command"] and "proofs" in services["worker-proofs"]["command"]
    assert "results,default" in services["worker-light"]["command"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "celery_app", "beat"]
    assert COMPOSE["secrets"]["prover_key"]["file"].startswith("./deploy/secrets/")
