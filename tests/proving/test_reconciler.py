"""proving.reconciler on real Postgres and SQS: what it re-sends, fails and leaves alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from proving import reconciler
from proving import services as proving_services
from proving.models import Job, JobGroup

pytestmark = pytest.mark.django_db

START, END = 1672531200, 1672531200 + 3600
NOTHING = {"jobs_failed": 0, "jobs_resent": 0, "outcomes_resent": 0, "groups_renotified": 0}


@pytest.fixture
def group(sqs_queues, django_capture_on_commit_callbacks) -> JobGroup:
    """A committed group whose first messages were never published (the process died)."""
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    with django_capture_on_commit_callbacks(execute=False):
        created, _ = proving_services.job_group_create(job_group_id="k" * 64, ranges=ranges)
    return created


def age(group: JobGroup, seconds: float) -> None:
    Job.objects.filter(group=group).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_young_unsent_jobs_are_left_to_their_publisher(group):
    assert reconciler.reconcile_jobs() == NOTHING


def test_never_sent_jobs_are_sent_once_past_the_grace(group):
    age(group, reconciler.UNDISPATCHED_GRACE.total_seconds() + 5)
    assert reconciler.reconcile_jobs()["jobs_resent"] == 3
    assert not Job.objects.filter(group=group, dispatched_at__isnull=True).exists()
    assert reconciler.reconcile_jobs()["jobs_resent"] == 0  # sent: SQS has it now


def test_a_sent_message_counts_as_lost_after_the_redispatch_window(group, settings):
    settings.RECONCILE_REDISPATCH_SECONDS = 30
    sent_at = timezone.now() - timedelta(seconds=20)
    Job.objects.filter(group=group).update(dispatched_at=sent_at, created_at=sent_at)
    assert reconciler.reconcile_jobs()["jobs_resent"] == 0
    Job.objects.filter(group=group).update(dispatched_at=timezone.now() - timedelta(seconds=40))
    assert reconciler.reconcile_jobs()["jobs_resent"] == 3


def test_a_lapsed_lease_is_resent_and_an_exhausted_job_fails(group, settings):
    twap, reserve, max_return = (group.jobs.get(metric=metric) for metric in ("twap", "reserve_price", "max_return"))
    now = timezone.now()
    Job.objects.filter(group=group).update(dispatched_at=now)
    # Lapsed a moment ago: its message comes back from SQS by itself within the visibility timeout.
    recent = dict(status="running", lease_expires_at=now - timedelta(seconds=1), attempts=1)
    Job.objects.filter(pk=twap.pk).update(
        **recent, dispatched_at=now - timedelta(seconds=settings.JOB_LEASE_SECONDS + 1)
    )
    assert reconciler.reconcile_jobs()["jobs_resent"] == 0
    # Lapsed longer ago than that, and not claimed again: the message is lost, re-sent.
    visibility = settings.SQS_VISIBILITY_TIMEOUT
    lapsed = dict(status="running", lease_expires_at=now - timedelta(seconds=visibility + 1), attempts=1)
    Job.objects.filter(pk=twap.pk).update(
        **lapsed, dispatched_at=now - timedelta(seconds=settings.JOB_LEASE_SECONDS + visibility + 1)
    )
    long_gone = now - timedelta(seconds=settings.JOB_LEASE_SECONDS + 5)
    Job.objects.filter(pk=reserve.pk).update(
        status="running", lease_expires_at=long_gone, attempts=reserve.max_attempts
    )
    counts = reconciler.reconcile_jobs()
    assert (counts["jobs_resent"], counts["jobs_failed"]) == (1, 1)
    assert Job.objects.get(pk=reserve.pk).error_code == "prover_unavailable"
    assert Job.objects.get(pk=max_return.pk).status == "pending"


def test_finished_jobs_of_a_running_group_and_unnotified_groups_are_told_again(group, monkeypatch):
    old = timezone.now() - reconciler.UNDISPATCHED_GRACE - timedelta(seconds=5)
    Job.objects.filter(group=group).update(dispatched_at=timezone.now())
    Job.objects.filter(group=group, metric="twap").update(status="succeeded", finished_at=old)
    # The group's other jobs still run: their own outcome will complete it.
    monkeypatch.setattr(reconciler, "queue_waiting_messages", lambda name: 0)
    assert reconciler.reconcile_jobs()["outcomes_resent"] == 0
    Job.objects.filter(group=group).update(status="succeeded", finished_at=old)
    # Under a backlog on the outcomes queue the outcome may still be waiting its turn: not yet.
    monkeypatch.setattr(reconciler, "queue_waiting_messages", lambda name: 5)
    assert reconciler.reconcile_jobs()["outcomes_resent"] == 0
    # Nothing waiting (what earlier tests left on the shared queues does not count): re-sent.
    monkeypatch.setattr(reconciler, "queue_waiting_messages", lambda name: 0)
    assert reconciler.reconcile_jobs()["outcomes_resent"] == 1
    JobGroup.objects.filter(pk=group.pk).update(status="failed", finished_at=old)
    counts = reconciler.reconcile_jobs()
    assert (counts["outcomes_resent"], counts["groups_renotified"]) == (0, 1)
