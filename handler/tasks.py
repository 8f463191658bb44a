from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

from fossil import log_context
from fossil.observability import record_job_run
from handler import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="handler.prove_job",
    soft_time_limit=settings.PROOF_SOFT_TIME_LIMIT,
    time_limit=settings.PROOF_HARD_TIME_LIMIT,
    max_retries=None,  # attempts are bounded by Job.max_attempts in the database
)
def prove_job(self, job_id: int) -> None:
    if isinstance(job_id, bool) or not isinstance(job_id, int):
        # A malformed message (hand-written, foreign producer): nothing to run or retry.
        logger.error("prove_job: ignoring a message with job_id=%r (not an integer)", job_id)
        return
    began = time.monotonic()
    outcome = services.job_run(job_id=job_id)
    log_job_outcome(job_id, outcome.status, time.monotonic() - began)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


def log_job_outcome(job_id: int, status: str, duration: float) -> None:
    """One line (and the metrics) per run of a job; a delivery that ran nothing only counts."""
    from proving.models import Job

    job = Job.objects.filter(pk=job_id).values("metric", "group_id", "attempts", "error_code").first()
    if job is None:
        return
    log_context.bind(group_id=job["group_id"])
    record_job_run(metric=job["metric"], outcome=status, duration=duration, attempts=job["attempts"])
    if status == "skipped":
        return
    level = logging.WARNING if status == "failed" else logging.INFO
    logger.log(
        level, "job %s %s %s after %.2fs (attempt %s)%s", job_id, job["metric"], status, duration, job["attempts"],
        f": {job['error_code']}" if job["error_code"] and status != "succeeded" else "",
        extra={"outcome": status, "metric": job["metric"], "duration_seconds": round(duration, 3),
               "attempts": job["attempts"], "error_code": job["error_code"] or None},
    )
