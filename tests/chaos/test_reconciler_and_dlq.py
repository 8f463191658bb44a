"""The reconciler's terminal step and the dead_letters command, without worker processes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from proving.models import Job
from proving.reconciler import reconcile_jobs

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]


def test_reconciler_fails_jobs_that_used_up_their_attempts(make_group, clean_queues):
    group = make_group(dispatch=False)
    twap, reserve, max_return = (
        Job.objects.get(group_id=group, metric=m) for m in ("twap", "reserve_price", "max_return")
    )
    past = timezone.now() - timedelta(minutes=5)
    # running, last lease long lapsed, no attempts left (its worker died on the last try)
    Job.objects.filter(pk=twap.pk).update(
        status="running",
        attempts=4,
        max_attempts=4,
        lease_expires_at=past,
        dispatched_at=past,
        error_code="time_limit",
    )
    # pending with no attempts left
    Job.objects.filter(pk=reserve.pk).update(attempts=2, max_attempts=2, dispatched_at=past)
    # running with a fresh lease: left alone
    Job.objects.filter(pk=max_return.pk).update(
        status="running",
        attempts=4,
        max_attempts=4,
        dispatched_at=past,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    counts = reconcile_jobs()
    assert counts["jobs_failed"] == 2 and counts["jobs_resent"] == 0, counts
    for job, code in ((twap, "time_limit"), (reserve, "prover_unavailable")):
        job.refresh_from_db()
        assert job.status == "failed" and job.error_code == code and job.error_message
    assert "time_limit" in Job.objects.get(pk=twap.pk).error_message
    assert Job.objects.get(pk=max_return.pk).status == "running"
    assert clean_queues.depth("outcomes") == 2  # outcomes re-sent for the group
    clean_queues.drain("outcomes")


def test_dead_letters_command(clean_queues):
    sqs = clean_queues
    sqs.client.send_message(QueueUrl=sqs.urls["proofs-dlq"], MessageBody="garbage")
    from proving.tasks import prove_job

    prove_job.apply_async(args=[424242])
    body = sqs.drain("proofs")[0]["Body"]
    sqs.client.send_message(QueueUrl=sqs.urls["proofs-dlq"], MessageBody=body)

    def run(*args) -> str:
        out = io.StringIO()
        call_command("dead_letters", *args, stdout=out)
        return out.getvalue()

    assert "total dead letters: 2" in run("list")
    shown = run("show", "proofs")
    assert "handler.prove_job" in shown and "424242" in shown and "undecodable" in shown
    assert "requeued 1 message(s)" in run("requeue", "proofs")
    assert sqs.depth("proofs") == 1 and sqs.depth("proofs-dlq") == 1
    sqs.drain("proofs")
    assert "deleted 1 message(s)" in run("purge", "proofs", "--yes")
    assert "total dead letters: 0" in run("list")


def test_reconciler_resends_unstarted_jobs_quickly_only_when_nothing_waits(make_group, clean_queues, settings):
    settings.RECONCILE_LOST_MESSAGE_SECONDS = 5
    group = make_group(dispatch=False)
    Job.objects.filter(group_id=group).update(dispatched_at=timezone.now() - timedelta(seconds=10))
    # a backlog in the proofs queue: the message may just be waiting its turn
    clean_queues.client.send_message(QueueUrl=clean_queues.urls["proofs"], MessageBody="someone else's work")
    assert reconcile_jobs()["jobs_resent"] == 0
    clean_queues.drain("proofs")
    # nothing waits: a message not started within the short window is not in the queue
    assert reconcile_jobs()["jobs_resent"] == 3
    assert clean_queues.depth("proofs") == 3
    assert reconcile_jobs()["jobs_resent"] == 0  # just re-sent: not again within the window
    clean_queues.drain("proofs")
