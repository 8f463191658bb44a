"""Both ways the offchain side reaches the proving service (offchain/proving_client.py), end to
end with real workers: in process (the monolith) and the HTTP contract (a proving service
deployed on its own, here the live server)."""

from __future__ import annotations

import socket

import pytest
import requests
from django.core.management import call_command

from proving.models import JobGroup
from tests.conftest import EXAMPLE_REQUEST, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXAMPLE_START, EXAMPLE_END = EXAMPLE_REQUEST["params"]["twap"]


@pytest.fixture
def chain(transactional_db):
    call_command("seed_demo_chain", "--start", str(EXAMPLE_START - 86400), "--end", str(EXAMPLE_END + 3600))


@pytest.fixture
def closed_port_url():
    """A URL where nothing listens: any HTTP call to it fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def completed_status(live_server, key, job_id):
    def completed():
        body = requests.get(f"{live_server.url}/job_status/{job_id}", headers={"X-API-Key": key}, timeout=30).json()
        assert body["status"] != "Failed", body.get("error")
        return body if body["status"] == "Completed" else None

    return wait_until(completed, timeout=120, interval=0.5, what="the request to complete")


def submit(live_server, key) -> str:
    response = requests.post(
        f"{live_server.url}/pricing_data", json=EXAMPLE_REQUEST, headers={"X-API-Key": key}, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()["job_id"]


def test_in_process_completes_without_any_http_call_between_the_apps(
    live_server, make_worker, chain, api_key, settings, closed_port_url
):
    # Both service URLs point where nothing listens, in the web server and in the workers: a
    # forward, callback or poll over HTTP would fail, and the request with it.
    settings.PROVING_TRANSPORT = "inprocess"
    settings.PROVING_SERVICE_URL = settings.OFFCHAIN_CALLBACK_URL = closed_port_url
    make_worker(
        env={
            "PROVING_TRANSPORT": "inprocess",
            "PROVING_SERVICE_URL": closed_port_url,
            "OFFCHAIN_CALLBACK_URL": closed_port_url,
        }
    )
    job_id = submit(live_server, api_key)
    body = completed_status(live_server, api_key, job_id)
    assert set(body["results"]) == {"twap", "reserve_price", "max_return"}
    assert body["vault_result"][5] == body["results"]["twap"]["felt"]
    group = JobGroup.objects.get(pk=job_id)
    assert group.reports_to == JobGroup.ReportsTo.OFFCHAIN and group.notified_at is not None


def test_http_contract_completes_through_post_api_job_and_the_callback(
    live_server, make_worker, chain, api_key, settings
):
    settings.PROVING_TRANSPORT = "http"
    make_worker(env={"PROVING_TRANSPORT": "http"})
    job_id = submit(live_server, api_key)
    body = completed_status(live_server, api_key, job_id)
    assert set(body["results"]) == {"twap", "reserve_price", "max_return"}
    group = JobGroup.objects.get(pk=job_id)
    # created by POST /api/job, and told its caller by the signed callback
    assert group.reports_to == JobGroup.ReportsTo.CALLBACK and group.notified_at is not None
