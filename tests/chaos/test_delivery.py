"""S9 (duplicate delivery), S10 (malformed messages), S11 (oversized payloads)."""

from __future__ import annotations

import json
import time

import pytest

from proving.models import Job
from tests.chaos.conftest import record_recovery, wait_group
from tests.chaos.invariants import WORK_QUEUES, check_invariants
from tests.conftest import wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]


# Scenario S9 of docs/reliability.md.
def test_duplicate_deliveries_run_once(chaos_worker, make_group, clean_queues):
    from proving.tasks import prove_job

    group = make_group()
    job_ids = list(Job.objects.filter(group_id=group).values_list("pk", flat=True))
    # (c) copy the raw SQS bodies before anyone consumes them, then put them back
    wait_until(lambda: clean_queues.depth("proofs") == 3, timeout=10, what="3 messages")
    raw = clean_queues.peek("proofs")
    assert len(raw) == 3
    for job_id in job_ids:  # (a) the same task published twice more
        prove_job.delay(job_id)
        prove_job.delay(job_id)
    t0 = time.monotonic()
    with clean_queues.attributes("proofs", VisibilityTimeout=2):  # (b) SQS redelivers while a 3 s proof runs
        worker = chaos_worker(env={"FAULT_SLEEP": "3"}, beat=True)
        wait_group(group)
        elapsed = time.monotonic() - t0
        for msg in raw:  # (c) a late raw copy of a completed job's message
            clean_queues.client.send_message(QueueUrl=clean_queues.urls["proofs"], MessageBody=msg["Body"])
        check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    assert all(job.attempts == 1 for job in Job.objects.filter(group_id=group))
    assert "already finished; dropping this delivery" in worker.log_path.read_text()
    record_recovery(
        "S9 duplicates (x3 publish, visibility 2s < proof, raw re-send)",
        "1 run, 1 proof per job, duplicates dropped",
        elapsed,
    )


# Scenario S10 of docs/reliability.md.
def test_malformed_messages_do_no_harm(chaos_worker, make_group, clean_queues):
    from celery_app import app
    from proving.tasks import prove_job

    sqs = clean_queues
    url = sqs.urls["proofs"]
    dlq_arn = sqs.client.get_queue_attributes(QueueUrl=sqs.urls["proofs-dlq"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    with sqs.attributes("proofs", VisibilityTimeout=1, RedrivePolicy=redrive):
        sqs.client.send_message(QueueUrl=url, MessageBody="%%% not base64, not json \x01 %%%")
        sqs.client.send_message(QueueUrl=url, MessageBody="bm90IGpzb24gYXQgYWxs")  # base64 of "not json at all"
        sqs.client.send_message(QueueUrl=url, MessageBody=json.dumps({"hello": "world"}))
        app.send_task("no.such.task", args=[1], queue="proofs")
        prove_job.apply_async(args=[987654321])  # a job that does not exist
        prove_job.apply_async(args=["not-an-id"])  # wrong argument type
        app.send_task("handler.prove_job", args=[1, 2, 3], queue="proofs")  # wrong arity (no client-side check)
        worker = chaos_worker(beat=True)
        t0 = time.monotonic()
        group = make_group()  # a normal job sent afterwards
        wait_group(group, timeout=60)
        elapsed = time.monotonic() - t0
        # Wait for the poison to settle (receive count 2 -> DLQ on the next receive). On a loaded
        # machine kombu's SQS consumer can stall after the rejections; the worker's watchdog then
        # stops it (exit 3) and make run's supervisor starts it again, as this loop does.
        workers = [worker]

        def drained_with_a_supervisor():
            current = workers[-1]
            if current.proc.poll() is not None:
                assert current.proc.returncode == 3, current.log_tail()
                workers.append(chaos_worker(beat=True))
            return all(sqs.depth(name) == 0 for name in WORK_QUEUES)

        wait_until(drained_with_a_supervisor, timeout=150, interval=1, what="the work queues to drain")
        assert workers[-1].proc.poll() is None, workers[-1].log_tail()
        result = check_invariants(sqs, groups=[group], dlq={"proofs": EXPECTED_DLQ}, queue_timeout=60)
    assert not Job.objects.filter(pk=987654321).exists()
    log = worker.log_path.read_text()
    kinds = sorted(_kind(m["Body"]) for m in result["dlq"]["proofs"])
    assert kinds.count("handler.prove_job") == 1 and "no.such.task" in kinds, kinds
    record_recovery("S10 malformed messages (7 kinds)", f"worker up, normal job SUCCEEDED; DLQ {kinds}", elapsed)
    assert "ignoring a message with job_id='not-an-id'" in log


# Exits measured here (Celery 5.7 / kombu 5.7 on moto): a body that is not a Celery message
# (garbage, base64 of garbage, foreign JSON) and an unknown task are rejected without being
# deleted, as is a task failing with TypeError (wrong arity; not acked because
# task_acks_on_failure_or_timeout=False): all five reach the DLQ after maxReceiveCount.
# A non-existent job id and a non-integer job id are acked with a log line.
EXPECTED_DLQ = 5


def _kind(body: str) -> str:
    from proving.management.commands.dead_letters import describe

    info = describe(body)
    return info.get("task") or info["kind"]


# Scenario S11 of docs/reliability.md.
def test_oversized_bodies_and_messages_are_refused(chaos_worker, make_group, clean_queues, live_server, api_key):
    import requests

    # (a) a 1 MB body is refused before parsing, never a 500
    big = {"job_group_id": "a" * 64, "padding": "x" * 1_000_000}
    response = requests.post(f"{live_server.url}/api/job", json=big, timeout=10)
    assert response.status_code in (400, 401, 403, 413), response.status_code
    # (b) 10 000 identifiers -> 400 from validation
    body = {"identifiers": [f"id{i}" for i in range(10_000)], "params": {}, "client_info": {}}
    response = requests.post(f"{live_server.url}/pricing_data", json=body, headers={"X-API-Key": api_key}, timeout=10)
    assert response.status_code in (400, 413), response.status_code
    # (d) every task message is small (ids only): measure what SQS receives
    from offchain.tasks import forward_pricing_request, sync_pricing_request
    from proving.tasks import notify_offchain, prove_job, record_job_outcome

    prove_job.apply_async(args=[2**62])
    record_job_outcome.apply_async(args=[2**62])
    notify_offchain.apply_async(args=["f" * 66])
    forward_pricing_request.apply_async(args=["f" * 64, 99])
    sync_pricing_request.apply_async(args=["f" * 64])
    sizes = []
    for name in ("proofs", "outcomes", "housekeeping"):
        for msg in clean_queues.drain(name):
            sizes.append(len(msg["Body"]))
    assert len(sizes) == 5 and max(sizes) < 16 * 1024, sizes
    # (e) a message the queue refuses (MaximumMessageSize at its 1 KiB minimum): the job
    # stays unpublished, the request does not fail, and the reconciler sends it later
    with clean_queues.attributes("proofs", MaximumMessageSize=1024):
        group = make_group()
        assert Job.objects.filter(group_id=group, dispatched_at__isnull=True).count() == 3
    t0 = time.monotonic()
    chaos_worker(beat=True)
    wait_group(group, timeout=60)
    elapsed = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group])
    record_recovery(
        "S11 oversized (1 MB body, 10k ids, queue size limit)",
        f"413/400, messages <= {max(sizes)} B, refused publish re-sent",
        elapsed,
    )
