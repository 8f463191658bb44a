"""Proving service writes: job groups, dispatch, outcomes, notification."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from fossil.exceptions import Conflict, NotFound  # noqa: F401  (Conflict is part of the API)
from fossil.http import post_signed_json
from fossil.queues import publish, publish_on_commit
from proving.composition import group_result
from proving.models import METRICS, Job, JobGroup

logger = logging.getLogger(__name__)

RESETTABLE = dict(
    status=Job.Status.PENDING,
    attempts=0,
    lease_token=None,
    lease_expires_at=None,
    next_attempt_at=None,
    dispatched_at=None,
    error_code="",
    error_message="",
    started_at=None,
    finished_at=None,
    result=None,
)


def job_group_create(*, job_group_id: str, ranges: dict[str, tuple[int, int]]) -> tuple[JobGroup, str]:
    """Creates the group's three jobs and queues them once committed.

    Repeating the call is safe: an existing group is returned as it is ("exists"), a
    failed one is run again ("rerun"); different ranges under the same id are a conflict.
    """
    with transaction.atomic():
        group, created = JobGroup.objects.get_or_create(id=job_group_id)
        if created:
            jobs = Job.objects.bulk_create(
                Job(
                    group=group,
                    metric=metric,
                    start_timestamp=ranges[metric][0],
                    end_timestamp=ranges[metric][1],
                    max_attempts=settings.JOB_MAX_ATTEMPTS,
                )
                for metric in METRICS
            )
            dispatch_on_commit([job.pk for job in jobs])
            return group, "created"
        group = JobGroup.objects.select_for_update().get(pk=job_group_id)
        for job in group.jobs.all():
            if (job.start_timestamp, job.end_timestamp) != tuple(ranges[job.metric]):
                raise Conflict(
                    f"job group {job_group_id} exists with a different {job.metric} range "
                    f"[{job.start_timestamp}, {job.end_timestamp}]"
                )
        if group.status == JobGroup.Status.FAILED:
            job_group_rerun(group_id=job_group_id)
            return group, "rerun"
        if group.status == JobGroup.Status.COMPLETED:
            # The caller asks again about a finished group: its earlier notice may be lost
            # (or ignored), so tell it again.
            JobGroup.objects.filter(pk=job_group_id).update(notified_at=None)
            notify_on_commit(job_group_id)
        return group, "exists"


def job_group_rerun(*, group_id: str, dispatch: bool = True) -> list[int]:
    """Runs a failed group's unfinished jobs again (fresh attempts); returns their ids."""
    with transaction.atomic():
        group = JobGroup.objects.select_for_update().filter(pk=group_id).first()
        if group is None:
            raise NotFound(f"no job group {group_id}")
        if group.status != JobGroup.Status.FAILED:
            raise Conflict(f"job group {group_id} is {group.status}; only a failed group runs again")
        job_ids = list(group.jobs.exclude(status=Job.Status.SUCCEEDED).values_list("pk", flat=True))
        Job.objects.filter(pk__in=job_ids).update(**RESETTABLE)
        JobGroup.objects.filter(pk=group_id).update(
            status=JobGroup.Status.RUNNING, run=F("run") + 1, error="", finished_at=None, notified_at=None
        )
        if dispatch:
            dispatch_on_commit(job_ids)
    return job_ids


def job_reset_for_replay(*, job_id: int) -> Job:
    """Makes a failed job runnable again with fresh attempts (its group runs again too)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"no job {job_id}")
        if job.status == Job.Status.SUCCEEDED:
            raise Conflict(f"job {job_id} already succeeded; its proof stands")
        if job.status == Job.Status.RUNNING:
            raise Conflict(f"job {job_id} is running (attempt {job.attempts})")
        Job.objects.filter(pk=job_id).update(**RESETTABLE)
        JobGroup.objects.filter(pk=job.group_id, status=JobGroup.Status.FAILED).update(
            status=JobGroup.Status.RUNNING, run=F("run") + 1, error="", finished_at=None, notified_at=None
        )
    return job


def job_retry(*, job_id: int) -> Job:
    """An operator's retry of a failed job: fresh attempts, queued once committed. When the
    group completes, the offchain request recorded as failed takes the new outcome."""
    with transaction.atomic():
        job = job_reset_for_replay(job_id=job_id)
        dispatch_on_commit([job_id])
    return job


def job_group_retry(*, group_id: str) -> list[int]:
    """An operator's retry of a failed group (its unfinished jobs), queued once committed."""
    return job_group_rerun(group_id=group_id, dispatch=True)


EXHAUSTED_CODE = "attempts_exhausted"


def exhausted_jobs_filter(now) -> Q:
    """Jobs that used up their attempts and can never be claimed again: pending, or running
    under a lease that lapsed more than one lease period ago (its worker is gone; a live
    one would have renewed it)."""
    lease = timedelta(seconds=settings.JOB_LEASE_SECONDS)
    dead = Q(status=Job.Status.RUNNING, lease_expires_at__lt=now - lease) | Q(status=Job.Status.PENDING)
    return dead & Q(attempts__gte=F("max_attempts"))


def job_fail_exhausted(*, job_id: int, now=None) -> bool:
    """Fails such a job with its last error, and has its group told once committed."""
    from proving.tasks import record_job_outcome

    now = now or timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update(skip_locked=True).filter(exhausted_jobs_filter(now), pk=job_id).first()
        if job is None:
            return False
        message = (
            f"the job used up its {job.max_attempts} attempts without finishing (worker lost, crashed or "
            f"timed out); last error: {job.error_code or 'worker_lost'}"
        )
        if job.error_message:
            message += f": {job.error_message}"
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED,
            error_code=EXHAUSTED_CODE,
            error_message=message[:4000],
            finished_at=now,
            lease_token=None,
            lease_expires_at=None,
            next_attempt_at=None,
        )
        logger.warning("job %s failed: %s", job_id, message)
        publish_on_commit(record_job_outcome, job_id)
    return True


def dispatch_on_commit(job_ids: list[int]) -> None:
    transaction.on_commit(lambda: jobs_dispatch(job_ids))


def jobs_dispatch(job_ids: list[int]) -> int:
    """Publishes one message per job (ids only). A job whose message could not be sent
    keeps dispatched_at empty, and the reconciler sends it later."""
    from handler.tasks import prove_job

    sent = 0
    for job_id in job_ids:
        if publish(prove_job, job_id):
            Job.objects.filter(pk=job_id).update(dispatched_at=timezone.now())
            sent += 1
    return sent


def job_group_record_outcome(*, job_id: int) -> str:
    """Called once a job has finished (succeeded or failed for good).

    Completes the group when all its jobs succeeded, fails it when one failed; the
    transition is a guarded update, so of two racing calls only one notifies.
    """
    group_id = Job.objects.filter(pk=job_id).values_list("group_id", flat=True).first()
    if group_id is None:
        raise NotFound(f"no job {job_id}")
    jobs = list(Job.objects.filter(group_id=group_id).order_by("metric"))
    now = timezone.now()
    running = JobGroup.objects.filter(pk=group_id, status=JobGroup.Status.RUNNING)
    with transaction.atomic():
        failed = [job for job in jobs if job.status == Job.Status.FAILED]
        if failed:
            reason = "; ".join(f"{job.metric}: {job.error_code}: {job.error_message}" for job in failed)
            changed = running.update(status=JobGroup.Status.FAILED, error=reason[:4000], finished_at=now)
            outcome = "failed"
        elif all(job.status == Job.Status.SUCCEEDED for job in jobs):
            changed = running.update(status=JobGroup.Status.COMPLETED, result=group_result(jobs), finished_at=now)
            outcome = "completed"
        else:
            return "waiting"
        if changed:
            notify_on_commit(group_id)
    return outcome if changed else "already-recorded"


def notify_on_commit(group_id: str) -> None:
    from proving.tasks import notify_offchain

    publish_on_commit(notify_offchain, group_id)


def job_group_notify(*, group_id: str) -> bool:
    """Tells the offchain processor that the group finished; at most once on success.

    The group row stays locked (SKIP LOCKED for everyone else) from the check to the
    notified_at update, so two notifier tasks (a retry and a reconciler re-send) cannot
    both deliver: the second finds the row locked or already notified and does nothing.
    Raises fossil.http.ServiceCallFailed when the offchain processor cannot be reached.
    """
    with transaction.atomic():
        group = (
            JobGroup.objects.select_for_update(skip_locked=True)
            .filter(pk=group_id, notified_at__isnull=True)
            .exclude(status=JobGroup.Status.RUNNING)
            .first()
        )
        if group is None:
            return False
        post_signed_json(
            f"{settings.OFFCHAIN_CALLBACK_URL}/internal/job_groups/{group_id}/finished", {"job_group_id": group_id}
        )
        JobGroup.objects.filter(pk=group_id, notified_at__isnull=True).update(notified_at=timezone.now())
    return True
