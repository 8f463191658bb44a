"""Shared fixtures: real Postgres (pytest-django), real SQS (moto server from the test
bootstrap), and real Celery worker processes for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from scripts import devstack

REPO = Path(__file__).resolve().parent.parent
VECTORS = REPO / "tests" / "data"
EXAMPLE_REQUEST = json.loads((REPO / "docs" / "example_request.json").read_text())


def groth16_vector_record(vector: dict) -> dict:
    """A proof record of one of the real Groth16 vectors (tests/data/receipts), seal prefixed by its selector."""
    selectors = json.loads((VECTORS / "receipts" / "control_roots.json").read_text())["groth16_verifier_parameters"]
    selector = selectors[vector["version"]][:8]
    return {
        "kind": "groth16",
        "image_id": "0x" + vector["image_id"],
        "journal": "0x" + vector["journal"],
        "claim_digest": "0x" + vector["claim_digest"],
        "seal": "0x" + selector + vector["seal"][-512:],
        "selector": "0x" + selector,
    }


def stub_metric_result(metric: str, first_bucket: int = 1672531200, last_bucket: int = 1672574340) -> dict:
    """A metric result with every always-present field, for tests that feed results in by hand."""
    return {
        "metric": metric,
        "value": "1.0",
        "felt": "0x" + "0" * 64,
        "bucket_seconds": 60,
        "points": 720,
        "first_bucket": first_bucket,
        "last_bucket": last_bucket,
        "data_commitment": [0] * 8,
    }


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def sqs_queues():
    from django.conf import settings

    from fossil.queues import delete_queues, ensure_queues

    if not os.environ.get("AWS_ENDPOINT_URL_SQS") and not os.environ.get("CI_USE_REAL_AWS"):
        pytest.fail("AWS_ENDPOINT_URL_SQS is not set: run the suite with `make test`")
    urls = ensure_queues()
    yield urls
    delete_queues()
    assert settings.SQS_QUEUE_PREFIX.startswith("t")


def database_url(db_settings: dict) -> str:
    user = quote(db_settings["USER"] or "")
    password = f":{quote(db_settings['PASSWORD'])}" if db_settings["PASSWORD"] else ""
    host = db_settings["HOST"]
    port = db_settings["PORT"] or "5432"
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{db_settings['NAME']}?host={quote(host)}&port={port}"
    return f"postgresql://{user}{password}@{host}:{port}/{db_settings['NAME']}"


class WorkerProcess:
    def __init__(self, env: dict, log_path: Path, queues: str, name: str, concurrency: int = 2):
        self.env = env
        self.log_path = log_path
        # make run's worker command; a test's workers skip the broadcast chatter between workers
        self.argv = [
            *devstack.celery_worker(queues, name, concurrency),
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ]
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> WorkerProcess:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0  # an earlier worker's lines
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_tail()}")
            return " ready." in self.log_path.read_text()[offset:]

        wait_until(ready, timeout=timeout, what="celery worker to be ready")
        return self

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text()[-chars:] if self.log_path.exists() else ""

    def pool_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def kill(self) -> None:
        """A cold kill of the main process and its pool children."""
        if self.proc is None:
            return
        for pid in self.pool_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def worker_env(django_db_setup, django_db_blocker, live_server, sqs_queues, tmp_path_factory):
    from django.conf import settings

    # The web side (live_server, in this process) and the workers call each other here.
    settings.PROVING_SERVICE_URL = live_server.url
    settings.OFFCHAIN_CALLBACK_URL = live_server.url
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        SQS_QUEUE_PREFIX=settings.SQS_QUEUE_PREFIX,
        PROVING_SERVICE_URL=live_server.url,
        OFFCHAIN_CALLBACK_URL=live_server.url,
        PROVER_KEY_FILE=str(settings.PROVER_KEY_FILE),
        SQS_WAIT_TIME_SECONDS="1",
        SQS_POLLING_INTERVAL="0.1",
    )
    return env


@pytest.fixture(scope="session")
def worker_logs(tmp_path_factory):
    return tmp_path_factory.mktemp("workers")


@pytest.fixture
def make_worker(worker_env, worker_logs, request):
    """Starts real `celery worker` processes for one test and stops them after it."""
    started: list[WorkerProcess] = []

    def make(
        *, queues: str = "proofs,outcomes,housekeeping", env: dict | None = None, concurrency: int = 2
    ) -> WorkerProcess:
        name = f"{request.node.name[:40]}-{len(started)}".replace("[", "-").replace("]", "")
        worker = WorkerProcess(dict(worker_env, **(env or {})), worker_logs / f"{name}.log", queues, name, concurrency)
        started.append(worker)
        return worker.start()

    yield make
    for worker in started:
        worker.stop(timeout=20)


@pytest.fixture
def celery_worker(make_worker):
    """A worker consuming every queue, for one end-to-end test."""
    return make_worker()


@pytest.fixture
def api_key(db):
    from offchain.services import api_key_create

    _, raw_key = api_key_create(name="pytest")
    return raw_key


@pytest.fixture
def key_client(api_key):
    """A DRF test client that sends a valid X-API-Key."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    return client
