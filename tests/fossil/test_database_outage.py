"""Postgres unreachable: every endpoint answers JSON 503 with Retry-After, never an HTML 500."""

from __future__ import annotations

import json
import socket

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgres_unreachable(api_key):
    """Points the connection at a port where nothing listens (a real connection failure)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(dead_port))
    try:
        yield api_key
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/pricing_data", EXAMPLE_REQUEST),
        ("get", "/job_status/" + "a" * 64, None),
        ("get", "/admin/proving/job/", None),  # a plain Django view (the session is read from Postgres)
    ],
)
def test_postgres_down_is_json_503_with_retry_after(postgres_unreachable, method, path, body):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=postgres_unreachable)
    client.cookies["sessionid"] = "s" * 32
    response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert int(response["Retry-After"]) > 0
    answer = json.loads(response.content)
    assert answer["code"] == "unavailable"
    assert "127.0.0.1" not in answer["message"] and "connection" not in answer["message"].lower()
