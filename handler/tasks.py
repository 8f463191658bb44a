from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

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
    outcome = services.job_run(job_id=job_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
