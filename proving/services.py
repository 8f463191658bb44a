"""Proving service writes: job groups, dispatch, outcomes, notification.

A job's own transitions (claim, succeed, fail, reset...) are proving.jobs'; this module
drives them for a group and owns JobGroup's."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from fossil import dispatch
from fossil.exceptions import Conflict, NotFound
from fossil.http import post_signed_json
from handler import failures
from offchain.services import pricing_request_apply_group
from proving import jobs
from proving.composition import group_result
from proving.models import Job, JobGroup
from proving.selectors import job_group_detail

logger = logging.getLogger(__name__)


def job_group_create(
    *,
    job_group_id: str,
    ranges: dict[str, tuple[int, int]],
    reports_to: str = JobGroup.ReportsTo.CALLBACK,
) -> tuple[JobGroup, str]:
    """Creates the group's three jobs and queues them once committed.

    Repeating the call is safe: an existing group is returned as it is ("exists"), a
    failed one is run again ("rerun"); different ranges under the same id are a conflict.
    reports_to says who hears the outcome: the caller of POST /api/job by callback, or the
    offchain request in this database (proving.inprocess).
    """
    with transaction.atomic():
        group, created = JobGroup.objects.get_or_create(id=job_group_id, defaults={"reports_to": reports_to})
        if created:
            created_jobs = jobs.jobs_create(group=group, ranges=ranges)
            dispatch_on_commit([job.pk for job in created_jobs])
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
        if group.status == JobGroup.Status.COMPLETED and group.reports_to == JobGroup.ReportsTo.CALLBACK:
            # The caller asks again about a finished group: its earlier notice may be lost
            # (or ignored), so tell it again. (An in-process caller reads the group itself.)
            JobGroup.objects.filter(pk=job_group_id).update(notified_at=None, notify_claimed_until=None)
            notify_on_commit(job_group_id)
        return group, "exists"


def _reopen(groups) -> int:
    """Running again, as a new run: the failure, the finish and the notification are cleared."""
    return groups.update(
        status=JobGroup.Status.RUNNING,
        run=F("run") + 1,
        error="",
        finished_at=None,
        notified_at=None,
        notify_claimed_until=None,
    )


def job_group_rerun(*, group_id: str, dispatch: bool = True) -> list[int]:
    """Runs a failed group's unfinished jobs again (fresh attempts); returns their ids."""
    with transaction.atomic():
        group = JobGroup.objects.select_for_update().filter(pk=group_id).first()
        if group is None:
            raise NotFound(f"no job group {group_id}")
        if group.status != JobGroup.Status.FAILED:
            raise Conflict(f"job group {group_id} is {group.status}; only a failed group runs again")
        job_ids = jobs.jobs_reset_unfinished(group_id=group_id)
        _reopen(JobGroup.objects.filter(pk=group_id))
        if dispatch:
            dispatch_on_commit(job_ids)
    return job_ids


def job_replay(*, job_id: int) -> Job:
    """Makes a failed job runnable again with fresh attempts (its group runs again too)."""
    with transaction.atomic():
        job = jobs.job_reset_for_replay(job_id=job_id)
        _reopen(JobGroup.objects.filter(pk=job.group_id, status=JobGroup.Status.FAILED))
    return job


def job_retry(*, job_id: int) -> Job:
    """An operator's retry of a failed job: fresh attempts, queued once committed. When the
    group completes, the offchain request recorded as failed takes the new outcome."""
    with transaction.atomic():
        job = job_replay(job_id=job_id)
        dispatch_on_commit([job_id])
    return job


def job_group_retry(*, group_id: str) -> list[int]:
    """An operator's retry of a failed group (its unfinished jobs), queued once committed."""
    return job_group_rerun(group_id=group_id, dispatch=True)


def dispatch_on_commit(job_ids: list[int]) -> None:
    transaction.on_commit(lambda: jobs_dispatch(job_ids))


def jobs_dispatch(job_ids: list[int]) -> int:
    """Publishes one message per job (ids only). A job whose message could not be sent
    keeps dispatched_at empty, and the reconciler sends it later."""
    sent = 0
    for job_id in job_ids:
        if dispatch.send(dispatch.PROVE_JOB, job_id):
            jobs.job_mark_dispatched(job_id=job_id)
            sent += 1
    return sent


def job_group_record_outcome(*, job_id: int) -> str:
    """Called once a job has finished (succeeded or failed for good).

    Completes the group when all its jobs succeeded, fails it when one failed; the
    transition is a guarded update, so of two racing calls only one reports it.
    """
    group_id = Job.objects.filter(pk=job_id).values_list("group_id", flat=True).first()
    if group_id is None:
        raise NotFound(f"no job {job_id}")
    group_jobs = list(Job.objects.filter(group_id=group_id).order_by("metric"))
    now = timezone.now()
    running = JobGroup.objects.filter(pk=group_id, status=JobGroup.Status.RUNNING)
    with transaction.atomic():
        failed = [job for job in group_jobs if job.status == Job.Status.FAILED and job.error_code != failures.CANCELLED]
        if failed:
            reason = "; ".join(f"{job.metric}: {job.error_code}: {job.error_message}" for job in failed)
            changed = running.update(status=JobGroup.Status.FAILED, error=reason[:4000], finished_at=now)
            if changed:
                first = failed[0]
                jobs.jobs_cancel_unfinished(
                    group_id=group_id, reason=f"cancelled: the {first.metric} job failed for good ({first.error_code})"
                )
            outcome = "failed"
        elif all(job.status == Job.Status.SUCCEEDED for job in group_jobs):
            changed = running.update(status=JobGroup.Status.COMPLETED, result=group_result(group_jobs), finished_at=now)
            outcome = "completed"
        else:
            return "waiting"
        if changed:
            _report_outcome(group_id)
    return outcome if changed else "already-recorded"


def _report_outcome(group_id: str) -> None:
    """Inside the transaction that finished the group: an in-process group's offchain
    request takes the outcome in that same transaction; a caller of POST /api/job is
    notified once it commits."""
    reports_to = JobGroup.objects.filter(pk=group_id).values_list("reports_to", flat=True).get()
    if reports_to == JobGroup.ReportsTo.CALLBACK:
        notify_on_commit(group_id)
        return
    group = job_group_detail(group_id)
    assert group is not None  # the row was just updated in this transaction
    pricing_request_apply_group(job_id=group_id, group=group)
    JobGroup.objects.filter(pk=group_id).update(notified_at=timezone.now(), notify_claimed_until=None)


def notify_on_commit(group_id: str) -> None:
    dispatch.send_on_commit(dispatch.NOTIFY_OFFCHAIN, group_id)


def notify_claim_seconds() -> float:
    """How long a notifier owns a group's notification: longer than its HTTP call can take."""
    return settings.HTTP_CONNECT_TIMEOUT + settings.HTTP_READ_TIMEOUT + 30


def job_group_notify(*, group_id: str) -> bool:
    """Tells the offchain processor that the group finished; at most once on success.

    Claim, then call: a guarded update takes a short claim on the group (notify_claimed_until),
    the call runs with no transaction or row lock open, and its success sets notified_at.
    A second notifier (a retry, a reconciler re-send) finds the group claimed or notified
    and does nothing; a failed call gives the claim back so a retry can go at once, and a
    notifier that died mid-call leaves a claim that lapses on its own.
    Raises fossil.http.ServiceCallFailed when the offchain processor cannot be reached.
    """
    now = timezone.now()
    claim = now + timedelta(seconds=notify_claim_seconds())
    claimed = (
        JobGroup.objects.filter(pk=group_id, notified_at__isnull=True, reports_to=JobGroup.ReportsTo.CALLBACK)
        .exclude(status=JobGroup.Status.RUNNING)
        .filter(Q(notify_claimed_until__isnull=True) | Q(notify_claimed_until__lt=now))
        .update(notify_claimed_until=claim)
    )
    if not claimed:
        return False
    try:
        post_signed_json(
            f"{settings.OFFCHAIN_CALLBACK_URL}/internal/job_groups/{group_id}/finished", {"job_group_id": group_id}
        )
    except Exception:
        JobGroup.objects.filter(pk=group_id, notify_claimed_until=claim).update(notify_claimed_until=None)
        raise
    # The claim ends with the call: a later run of the group (a replay) is notified at once.
    JobGroup.objects.filter(pk=group_id, notified_at__isnull=True).update(
        notified_at=timezone.now(), notify_claimed_until=None
    )
    return True
