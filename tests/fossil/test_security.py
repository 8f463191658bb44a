from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(key_client):
    return key_client


def test_oversized_body_is_413_before_parsing(client, settings):
    body = json.dumps({"identifiers": ["0x1"] * 20000})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post("/pricing_data", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_too_many_identifiers_is_400(client, settings):
    body = dict(EXAMPLE_REQUEST, identifiers=["0x1"] * (settings.MAX_IDENTIFIERS + 1))
    response = client.post("/pricing_data", body, format="json")
    assert response.status_code == 400 and response.json()["message"].startswith("identifiers")


def test_rate_limit_is_per_key(client, settings):
    settings.API_RATE_LIMITS = {"submit": "2/min", "read": "3/min"}
    statuses = [client.get("/job_status/x").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    other = APIClient()
    from offchain.services import api_key_create

    other.credentials(HTTP_X_API_KEY=api_key_create(name="other")[1])
    assert other.get("/job_status/x").status_code == 404  # another key has its own budget


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/pricing_data"),
        ("get", "/job_status/x"),
        ("post", "/api/job"),
        ("get", "/api/job/x"),
        ("get", "/api/prover_key"),
        ("post", "/internal/job_groups/x/finished"),
    ],
)
def test_every_endpoint_but_health_and_schema_needs_credentials(method, path):
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert response.status_code == 401


def test_health_schema_are_public_and_admin_needs_login():
    client = APIClient()
    assert client.get("/health").json() == {"status": "ok"}
    schema = client.get("/api/schema")
    assert schema.status_code == 200 and b"/pricing_data" in schema.content
    admin = client.get("/admin/proving/job/")
    assert admin.status_code == 302 and "/admin/login/" in admin["Location"]


def test_readiness_checks_postgres_and_an_sqs_round_trip(sqs_queues):
    response = APIClient().get("/health/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"postgres": "ok", "sqs": "ok", "prover_key": "ok"}


@pytest.fixture
def sqs_unreachable(monkeypatch):
    """The SQS endpoint moved to a port where nothing listens (a broker outage)."""
    import socket

    from fossil.queues import sqs_client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", f"http://127.0.0.1:{closed_port}")
    sqs_client.cache_clear()
    yield
    sqs_client.cache_clear()


def test_readiness_is_503_when_sqs_is_unreachable(sqs_unreachable):
    response = APIClient().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["postgres"] == "ok"
    assert response.json()["checks"]["sqs"].startswith("error")


def test_prover_key_is_served_to_clients(client):
    body = client.get("/api/prover_key").json()
    assert body["algorithm"] == "ed25519" and len(body["public_key"]) == 66


def test_revoke_command(api_key, capsys):
    prefix = api_key.split("_")[1]
    call_command("revoke_api_key", prefix)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    assert client.get("/job_status/x").status_code == 401
    with pytest.raises(SystemExit) as exit_info:
        call_command("revoke_api_key", "nope")
    assert exit_info.value.code == 2
