"""The callback/polling path: the offchain request takes the proving group's final word."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
from django.test import Client
from django.utils import timezone

from offchain.models import PricingRequest
from offchain.services import pricing_request_sync
from offchain.tasks import sync_pricing_request
from proving import services as proving_services
from proving.models import Job
from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db(transaction=True)

JOB_ID = "c" * 64
SYNC_TASK = "offchain.sync_pricing_request"


@pytest.fixture
def failed_group(live_server, settings, sqs_queues):
    # the HTTP contract with a proving service deployed on its own (here: the live server)
    settings.PROVING_TRANSPORT = "http"
    settings.PROVING_SERVICE_URL = live_server.url
    PricingRequest.objects.create(
        job_id=JOB_ID,
        identifiers=EXAMPLE_REQUEST["identifiers"],
        params=EXAMPLE_REQUEST["params"],
        client_info=EXAMPLE_REQUEST["client_info"],
    )
    ranges = {metric: (100, 200) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = proving_services.job_group_create(job_group_id=JOB_ID, ranges=ranges)
    job = Job.objects.filter(group=group).first()
    Job.objects.filter(pk=job.pk).update(
        status="failed", error_code="no_data", error_message="no blocks", finished_at=timezone.now()
    )
    assert proving_services.job_group_record_outcome(job_id=job.pk) == "failed"


def test_first_run_takes_the_result_even_before_the_forwarding_answer(failed_group):
    assert pricing_request_sync(job_id=JOB_ID) == "failed"
    request = PricingRequest.objects.get(pk=JOB_ID)
    assert request.status == "Failed" and "no_data" in request.error
    assert request.error_code == "no_data" and "no blocks" in request.client_error
    assert pricing_request_sync(job_id=JOB_ID) == "ignored"  # a repeat changes nothing


def test_a_rerun_ignores_the_earlier_runs_state_until_forwarded(failed_group):
    PricingRequest.objects.filter(pk=JOB_ID).update(run=2, forwarded_at=None)
    assert pricing_request_sync(job_id=JOB_ID) == "ignored"
    assert PricingRequest.objects.get(pk=JOB_ID).status == "Pending"


def _signed_callback(client, job_id: str):
    from fossil.signing import META_KEY, sign

    path = f"/internal/job_groups/{job_id}/finished"
    body = json.dumps({"job_group_id": job_id}, separators=(",", ":"), sort_keys=True).encode()
    return client.post(path, data=body, content_type="application/json", **{META_KEY: sign("POST", path, body)})


def _queued_task_messages(queue_url: str) -> list[dict]:
    """Receives and deletes the waiting Celery messages of a queue; returns their headers."""
    from fossil.queues import sqs_client

    client, found = sqs_client(), []
    for _ in range(20):
        messages = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        if not messages.get("Messages"):
            return found  # drained (publishing is synchronous: nothing more is on its way)
        for message in messages.get("Messages", []):
            client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            envelope = json.loads(base64.b64decode(message["Body"]))
            found.append(envelope["headers"])
    return found


def test_callback_answers_at_once_and_a_task_does_the_sync(failed_group, live_server, settings, sqs_queues):
    # A proving service that accepts connections but never answers: a callback that called
    # it would hang for the whole read timeout.
    _queued_task_messages(sqs_queues["outcomes"])  # what earlier tests and the set-up left there
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    settings.PROVING_SERVICE_URL = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        started = time.monotonic()
        response = _signed_callback(Client(HTTP_HOST="127.0.0.1"), JOB_ID)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert response.status_code == 202, response.content
    assert elapsed < 3, elapsed
    assert PricingRequest.objects.get(pk=JOB_ID).status == "Pending"  # nothing synced in the request
    syncs = [h["argsrepr"] for h in _queued_task_messages(sqs_queues["outcomes"]) if h["task"] == SYNC_TASK]
    assert len(syncs) == 1 and JOB_ID in syncs[0], syncs

    settings.PROVING_SERVICE_URL = live_server.url
    sync_pricing_request.apply(args=[JOB_ID]).get()
    assert PricingRequest.objects.get(pk=JOB_ID).status == "Failed"


def test_callback_for_a_finished_request_queues_nothing(failed_group, sqs_queues):
    PricingRequest.objects.filter(pk=JOB_ID).update(status="Completed")
    _queued_task_messages(sqs_queues["outcomes"])  # what earlier tests and the set-up left there
    assert _signed_callback(Client(HTTP_HOST="127.0.0.1"), JOB_ID).status_code == 202
    assert [h for h in _queued_task_messages(sqs_queues["outcomes"]) if h["task"] == SYNC_TASK] == []


def test_callback_is_503_with_retry_after_when_the_hint_cannot_be_queued(failed_group, monkeypatch):
    monkeypatch.setattr("offchain.services.dispatch.send", lambda task_name, *args: False)
    response = _signed_callback(Client(HTTP_HOST="127.0.0.1"), JOB_ID)
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["code"] == "unavailable"


def test_a_refusal_by_the_proving_service_reaches_the_client_as_a_code_only(failed_group, api_key):
    from rest_framework.test import APIClient

    from offchain.selectors import api_key_for
    from offchain.services import pricing_request_forward

    PricingRequest.objects.filter(pk=JOB_ID).update(api_key=api_key_for(api_key))  # the group has other ranges
    assert pricing_request_forward(job_id=JOB_ID, run=1) is False
    request = PricingRequest.objects.get(pk=JOB_ID)
    assert request.status == "Failed" and "HTTP 409" in request.error  # the operator's story
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    body = client.get(f"/job_status/{JOB_ID}").json()
    assert body["error_code"] == "proving_service_refused"
    assert "409" not in body["error"] and "range" not in body["error"] and "http" not in body["error"].lower()
