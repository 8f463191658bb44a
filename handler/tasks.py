from __future__ import annotations

from celery import shared_task
from django.conf import settings

from handler import services


@shared_task(
    bind=True,
    name="handler.prove_job",
    soft_time_limit=settings.PROOF_SOFT_TIME_LIMIT,
    time_limit=settings.PROOF_HARD_TIME_LIMIT,
    max_retries=None,  # attempts are bounded by Job.max_attempts in the database
)
def prove_job(self, job_id: int) -> None:
    outcome = services.job_run(job_id=job_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
