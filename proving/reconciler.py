"""The periodic sweep that repairs what a lost message or a dead process left behind.

Every step is safe to run at any time and twice: it only re-sends messages, and the
tasks they start are guarded by the database (claims, guarded transitions).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from proving.models import Job, JobGroup
from proving.services import jobs_dispatch

logger = logging.getLogger(__name__)

# A message younger than this may still be in flight: leave it to SQS.
UNDISPATCHED_GRACE = timedelta(seconds=10)


def reconcile_jobs() -> dict[str, int]:
    from handler.tasks import prove_job  # noqa: F401  (registers the task for jobs_dispatch)
    from proving.tasks import notify_offchain, record_job_outcome

    now = timezone.now()
    in_flight_window = timedelta(seconds=settings.SQS_VISIBILITY_TIMEOUT)
    never_sent = Q(status=Job.Status.PENDING, dispatched_at__isnull=True, created_at__lt=now - UNDISPATCHED_GRACE)
    retry_lost = Q(status=Job.Status.PENDING, next_attempt_at__lt=now - in_flight_window)
    lease_lapsed = Q(status=Job.Status.RUNNING, lease_expires_at__lt=now, dispatched_at__lt=now - in_flight_window)
    stuck = list(Job.objects.filter(never_sent | retry_lost | lease_lapsed).values_list("pk", flat=True)[:500])
    resent = jobs_dispatch(stuck) if stuck else 0

    finished_in_running_group = list(
        Job.objects.filter(
            group__status=JobGroup.Status.RUNNING,
            status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED],
            finished_at__lt=now - UNDISPATCHED_GRACE,
        ).values_list("pk", flat=True)[:500]
    )
    for job_id in finished_in_running_group:
        record_job_outcome.delay(job_id)

    unnotified = list(
        JobGroup.objects.filter(
            notified_at__isnull=True,
            status__in=[JobGroup.Status.COMPLETED, JobGroup.Status.FAILED],
            finished_at__lt=now - UNDISPATCHED_GRACE,
        ).values_list("pk", flat=True)[:500]
    )
    for group_id in unnotified:
        notify_offchain.delay(group_id)

    counts = {"jobs_resent": resent, "outcomes_resent": len(finished_in_running_group), "groups_renotified": len(unnotified)}
    if any(counts.values()):
        logger.info("reconciler: %s", counts)
    return counts
