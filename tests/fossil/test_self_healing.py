"""Lost SQS queues come back by themselves; readiness sees them missing; concurrent
readiness probes agree; the worker watchdog tells a stalled consumer from a busy one."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.test import APIClient

from fossil import liveness
from fossil.dispatch import SYNC_PRICING_REQUEST
from fossil.queues import DLQ_SUFFIX, ensure_queues, heal_queues, missing_queues, publish, queue_name, sqs_client


@pytest.fixture
def own_queues(settings):
    """Queues of this test alone (readiness, healing and the watchdog read settings at call time)."""
    from fossil.queues import delete_queues

    settings.SQS_QUEUE_PREFIX = f"heal{uuid.uuid4().hex[:8]}-"
    urls = ensure_queues()
    yield urls
    delete_queues()


def _delete(name: str) -> None:
    client = sqs_client()
    client.delete_queue(QueueUrl=client.get_queue_url(QueueName=queue_name(name))["QueueUrl"])


def _redrive(name: str) -> dict:
    client = sqs_client()
    url = client.get_queue_url(QueueName=queue_name(name))["QueueUrl"]
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    return json.loads(attributes["RedrivePolicy"])


@pytest.mark.django_db
def test_lost_queues_are_created_again_with_their_dead_letter_queues(own_queues, settings):
    _delete("proofs")
    _delete("proofs" + DLQ_SUFFIX)
    assert sorted(missing_queues()) == ["proofs", "proofs-dlq"]
    response = APIClient().get("/health/ready")
    assert response.status_code == 503
    assert queue_name("proofs-dlq") in response.json()["checks"]["sqs"]

    assert sorted(heal_queues()) == ["proofs", "proofs-dlq"]
    assert missing_queues() == []
    assert _redrive("proofs")["deadLetterTargetArn"].endswith(queue_name("proofs-dlq"))
    assert int(_redrive("proofs")["maxReceiveCount"]) == settings.SQS_MAX_RECEIVE_COUNT
    assert APIClient().get("/health/ready").status_code == 200


@pytest.mark.django_db
def test_a_publish_to_a_lost_queue_is_sent_and_the_watchdog_provisions_it(sqs_queues):
    """The session's queues: the Celery app's producer is bound to their prefix."""
    _delete("outcomes")
    _delete("outcomes" + DLQ_SUFFIX)
    assert publish(SYNC_PRICING_REQUEST, "0" * 64) is True
    # kombu creates a bare queue (no dead-letter queue): not ready until provisioned again
    assert sorted(missing_queues()) in (["outcomes", "outcomes-dlq"], [])
    assert APIClient().get("/health/ready").status_code == (503 if missing_queues() else 200)
    liveness.Watchdog(["outcomes"]).look()  # what every worker and beat does every few seconds
    assert missing_queues() == []
    assert _redrive("outcomes")["deadLetterTargetArn"].endswith(queue_name("outcomes-dlq"))
    client = sqs_client()
    url = client.get_queue_url(QueueName=queue_name("outcomes"))["QueueUrl"]
    bodies = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(bodies) == 1
    client.delete_message(QueueUrl=url, ReceiptHandle=bodies[0]["ReceiptHandle"])


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_readiness_probes_all_agree(live_server, sqs_queues):
    def probe(_):
        with urllib.request.urlopen(f"{live_server.url}/health/ready", timeout=30) as answer:
            return answer.status, json.loads(answer.read())

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(probe, range(10)))
    assert answers == [(200, {"status": "ok", "checks": {"postgres": "ok", "sqs": "ok", "prover_key": "ok"}})] * 10


def test_the_watchdog_creates_lost_queues_and_stops_only_a_stalled_consumer(own_queues, settings, monkeypatch):
    stops = []
    watchdog = liveness.Watchdog(["housekeeping"], on_stall=lambda: stops.append(True), concurrency=2)
    _delete("housekeeping")
    assert watchdog.look() is None and missing_queues() == []

    sqs_client().send_message(QueueUrl=own_queues["housekeeping"], MessageBody="work")
    settings.WORKER_STALL_SECONDS = 1
    assert watchdog.look() is None  # just (re)started: a full stall period first
    monkeypatch.setattr(liveness, "_started", [time.monotonic() - 60])
    # every pool process busy: not taking messages is expected
    assert liveness.consumer_stall_reason(["housekeeping"], 1, busy=2, concurrency=2) is None
    # received from this queue a moment ago: live
    liveness._last_received["housekeeping"] = time.monotonic()
    assert watchdog.look() is None
    liveness._last_received.clear()
    first = watchdog.look()
    assert first and "1 message(s) waiting on housekeeping" in first and stops == []  # one look is not enough
    assert watchdog.look() and stops == [True]
