"""A real web server for the attack suite: gunicorn with two worker processes on a free
port, on the test database and the test run's SQS queues, as an outsider reaches it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
import requests

from tests.conftest import EXAMPLE_REQUEST, REPO, database_url, wait_until

SERVICE_SECRET = "attack-suite-" + "7Hq2Lm9Vb4RtY8wZ3Kp6Nc1Xd5Fg0Js"
SUBMIT_LIMIT = 60
# What must never reach a client: where things run, what broke inside, and secrets.
INTERNAL_MARKERS = (
    "127.0.0.1",
    "localhost",
    "Traceback",
    "psycopg",
    "ConnectionError",
    "Max retries",
    "HTTP 409",
    "HTTP 5",
    "/api/job",
    "/internal/",
    "session",
    SERVICE_SECRET,
    "insecure-local-only",
    "DATABASE_URL",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(url: str, **overrides: str) -> dict:
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        SQS_QUEUE_PREFIX=settings.SQS_QUEUE_PREFIX,
        PROVING_SERVICE_URL=url,
        OFFCHAIN_CALLBACK_URL=url,
        SERVICE_SHARED_SECRET=SERVICE_SECRET,
        API_RATE_LIMIT_SUBMIT=f"{SUBMIT_LIMIT}/min",
        API_RATE_LIMIT_READ="100000/min",
        DEBUG="false",
    )
    env.update(overrides)
    return env


def gunicorn_argv(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "fossil.wsgi:application",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "2",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--graceful-timeout",
        "5",
    ]


@pytest.fixture(scope="session")
def web(django_db_setup, django_db_blocker, sqs_queues, tmp_path_factory):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("gunicorn") / "web.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            gunicorn_argv(port), cwd=REPO, env=server_env(url), stdout=log, stderr=subprocess.STDOUT
        )

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            return requests.get(f"{url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(up, timeout=60, interval=0.3, what="gunicorn to answer /health")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Outsider:
    """An HTTP client that keeps every answer it got, to check them all for leaks."""

    base: str
    seen: list[requests.Response] = field(default_factory=list)

    def call(self, method: str, path: str, *, key: str | None = None, headers: dict | None = None, **kwargs):
        all_headers = {"X-API-Key": key} if key else {}
        all_headers.update(headers or {})
        response = requests.request(method, self.base + path, headers=all_headers, timeout=120, **kwargs)
        self.seen.append(response)
        return response

    def submit(self, key: str, body, **kwargs):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        return self.call(
            "POST", "/pricing_data", key=key, data=body, headers={"Content-Type": "application/json"}, **kwargs
        )

    def status(self, key: str, job_id: str):
        return self.call("GET", f"/job_status/{job_id}", key=key)


@pytest.fixture
def outsider(web, settings):
    settings.SERVICE_SHARED_SECRET = SERVICE_SECRET  # the test signs as the other service would
    client = Outsider(web)
    yield client
    for response in client.seen:
        assert response.status_code < 500, (
            response.request.method,
            response.url,
            response.status_code,
            response.text[:300],
        )
        leaks = [marker for marker in INTERNAL_MARKERS if marker in response.text]
        assert not leaks, (response.url, leaks, response.text[:300])


@pytest.fixture
def make_key():
    from offchain.services import api_key_create

    return lambda name="attacker": api_key_create(name=name)[1]


def stored_request(raw_key: str, body: dict = EXAMPLE_REQUEST) -> str:
    """Stores the request as the server would for this key, already forwarded, and returns its
    job id: submitting it again is a 409 that publishes nothing, so a test measures only the API."""
    from django.utils import timezone

    from offchain.apis import PricingDataApi
    from offchain.models import PricingRequest
    from offchain.selectors import api_key_for
    from offchain.services import job_id_for

    key = api_key_for(raw_key)
    assert key is not None
    serializer = PricingDataApi.InputSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    job_id = job_id_for(owner=key.pk, **serializer.validated_data)
    PricingRequest.objects.create(job_id=job_id, api_key=key, forwarded_at=timezone.now(), **serializer.validated_data)
    return job_id
