"""The periodic sweep that repairs what a lost message or a dead process left behind.

Every step is safe to run at any time and twice: it re-sends messages (the tasks they
start are guarded by the database: claims, guarded transitions), and it fails only jobs
that can never run again (attempts used up, last lease lapsed), with a reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from fossil import dispatch
from fossil.queues import queue_waiting_messages
from proving.jobs import exhausted_jobs_filter, job_fail_exhausted
from proving.models import Job, JobGroup
from proving.services import jobs_dispatch

logger = logging.getLogger(__name__)

# A message younger than this may still be in flight: leave it to SQS.
UNDISPATCHED_GRACE = timedelta(seconds=10)


def redispatch_window() -> timedelta:
    """How long a published, unclaimed message may wait in a queue with a backlog before it
    counts as lost (RECONCILE_REDISPATCH_SECONDS). Under a backlog a message is almost surely
    still in the queue, waiting its turn: re-sending it would only grow the backlog, so this
    is long; a duplicate is absorbed by the claim guard."""
    return timedelta(seconds=settings.RECONCILE_REDISPATCH_SECONDS)


def lost_message_window() -> timedelta:
    """How long a published, unstarted job waits before it counts as lost when the proofs
    queue has nothing waiting: its message is then not in the queue, so it is held by a
    worker (about to start it, or sitting on a retry countdown) or gone (queue state lost,
    worker killed before it started). Much shorter than the redispatch window."""
    return timedelta(seconds=settings.RECONCILE_LOST_MESSAGE_SECONDS)


def queue_idle(name: str) -> bool:
    """Whether no message waits in the queue (or the queue was gone with its messages).
    Unknown (the broker does not answer) counts as busy: nothing is re-sent on a guess."""
    waiting = queue_waiting_messages(name)
    return waiting is not None and waiting == 0


def resend_cutoff(now: datetime, queue: str, short: timedelta) -> datetime:
    """Work older than this counts as lost: the short delay while its queue has nothing
    waiting, else the long redispatch window."""
    window = redispatch_window()
    return now - (short if short < window and queue_idle(queue) else window)


def fail_exhausted_jobs(now=None) -> list[int]:
    """Fails every job that used up its attempts (see proving.jobs.exhausted_jobs_filter)."""
    now = now or timezone.now()
    candidates = list(
        Job.objects.filter(exhausted_jobs_filter(now)).values_list("pk", flat=True)[: settings.RECONCILE_BATCH]
    )
    return [job_id for job_id in candidates if job_fail_exhausted(job_id=job_id, now=now)]


def reconcile_jobs() -> dict[str, int]:
    now = timezone.now()
    failed = fail_exhausted_jobs(now)

    lease = timedelta(seconds=settings.JOB_LEASE_SECONDS)
    has_attempts = Q(attempts__lt=F("max_attempts"))
    never_sent = Q(status=Job.Status.PENDING, dispatched_at__isnull=True, created_at__lt=now - UNDISPATCHED_GRACE)
    # published (first try or a retry) but never claimed: the message is lost or stuck
    # Under a backlog a message may wait in the queue for long: only the long window applies.
    # With nothing waiting, a message not started within the short window is not in the queue.
    lost_cutoff = resend_cutoff(now, settings.QUEUE_PROOFS, lost_message_window())
    retry_lost = Q(status=Job.Status.PENDING, next_attempt_at__lt=lost_cutoff)
    message_lost = Q(status=Job.Status.PENDING, next_attempt_at__isnull=True, dispatched_at__lt=lost_cutoff)
    # The worker holding the lease is gone. Its message comes back by itself once its
    # visibility lapses (no heartbeat extends it any more): re-send only if that has not
    # happened within a visibility timeout, and at most once per such period.
    redelivery = lease + timedelta(seconds=settings.SQS_VISIBILITY_TIMEOUT)
    lease_lapsed = Q(status=Job.Status.RUNNING, lease_expires_at__lt=now - redelivery + lease) & (
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - redelivery)
    )
    stuck = list(
        Job.objects.filter((never_sent | retry_lost | message_lost | lease_lapsed) & has_attempts).values_list(
            "pk", flat=True
        )[: settings.RECONCILE_BATCH]
    )
    resent = jobs_dispatch(stuck) if stuck else 0

    # One job per running group whose outcome is due and unrecorded: every job finished, or
    # one failed (a group with a job still running waits for that job's own outcome).
    unfinished_sibling = Job.objects.filter(
        group_id=OuterRef("group_id"), status__in=[Job.Status.PENDING, Job.Status.RUNNING]
    )
    finished_in_running_group = list(
        Job.objects.filter(
            group__status=JobGroup.Status.RUNNING,
            status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED],
            finished_at__lt=resend_cutoff(now, settings.QUEUE_OUTCOMES, UNDISPATCHED_GRACE),
        )
        .filter(Q(status=Job.Status.FAILED) | ~Exists(unfinished_sibling))
        .order_by("group_id")
        .distinct("group_id")
        .values_list("pk", flat=True)[: settings.RECONCILE_BATCH]
    )
    outcomes = sum(dispatch.send(dispatch.RECORD_JOB_OUTCOME, job_id) for job_id in finished_in_running_group)

    unnotified = list(
        JobGroup.objects.filter(
            reports_to=JobGroup.ReportsTo.CALLBACK,
            notified_at__isnull=True,
            status__in=[JobGroup.Status.COMPLETED, JobGroup.Status.FAILED],
            finished_at__lt=resend_cutoff(now, settings.QUEUE_OUTCOMES, UNDISPATCHED_GRACE),
        ).values_list("pk", flat=True)[: settings.RECONCILE_BATCH]
    )
    renotified = sum(dispatch.send(dispatch.NOTIFY_OFFCHAIN, group_id) for group_id in unnotified)

    counts = {
        "jobs_failed": len(failed),
        "jobs_resent": resent,
        "outcomes_resent": outcomes,
        "groups_renotified": renotified,
    }
    if any(counts.values()):
        logger.info("reconciler: %s", counts)
    return counts
