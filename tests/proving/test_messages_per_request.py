"""What one request costs on the broker: its three prove messages and the one outcome that
completes its group (issue 21). The test takes the real messages off SQS and runs each task
here, as a worker would, until the request is completed."""

from __future__ import annotations

import base64
import contextvars
import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import close_old_connections
from django.utils.module_loading import import_string

from fossil import dispatch
from fossil.queues import sqs_client
from offchain.models import PricingRequest
from proving.models import Job
from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db(transaction=True)

START, END = 1672531200, 1672531200 + 6 * 3600
TASKS = {
    dispatch.PROVE_JOB: "proving.tasks.prove_job",
    dispatch.RECORD_JOB_OUTCOME: "proving.tasks.record_job_outcome",
    dispatch.NOTIFY_OFFCHAIN: "proving.tasks.notify_offchain",
    dispatch.FORWARD_PRICING_REQUEST: "offchain.tasks.forward_pricing_request",
    dispatch.SYNC_PRICING_REQUEST: "offchain.tasks.sync_pricing_request",
}


def received(queue_urls: list[str]) -> list[tuple[str, list]]:
    """Every waiting Celery message of these queues as (task name, args), deleted."""
    client, found = sqs_client(), []
    for url in queue_urls:
        while True:
            messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            if not messages.get("Messages"):
                break
            for message in messages["Messages"]:
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                envelope = json.loads(base64.b64decode(message["Body"]))
                args = json.loads(base64.b64decode(envelope["body"]))[0]
                found.append((envelope["headers"]["task"], args))
    return found


def test_a_request_costs_three_prove_messages_and_one_outcome(key_client, sqs_queues, settings):
    settings.PROVING_TRANSPORT = "inprocess"
    call_command("seed_demo_chain", "--start", str(START - 3600), "--end", str(END + 600))
    queues = [sqs_queues[name] for name in settings.WORK_QUEUES]
    received(queues)  # what earlier tests left on the session's queues
    body = dict(
        EXAMPLE_REQUEST, params={"twap": [START, END], "volatility": [START, END], "reserve_price": [START, END]}
    )
    job_id = key_client.post("/pricing_data", body, format="json").json()["job_id"]
    ours = set(Job.objects.filter(group_id=job_id).values_list("pk", flat=True))
    assert len(ours) == 3

    sent: Counter = Counter()
    for _ in range(20):  # rounds of "take what is queued, run it"; a request needs two
        batch = [(name, args) for name, args in received(queues) if args and args[0] in ours | {job_id}]
        if not batch:
            break
        for name, args in batch:
            sent[name] += 1
            # each in a context of its own, as in a worker (a task binds log context)
            contextvars.copy_context().run(import_string(TASKS[name]), *args)
            close_old_connections()
    assert PricingRequest.objects.get(pk=job_id).status == "Completed"
    assert sent == {dispatch.PROVE_JOB: 3, dispatch.RECORD_JOB_OUTCOME: 1}, sent
