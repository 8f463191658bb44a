from __future__ import annotations

import logging
import random

from celery import shared_task
from django.conf import settings
from django.db import connection

from fossil.exceptions import DATABASE_UNAVAILABLE
from handler import services

logger = logging.getLogger(__name__)


def database_outage_countdown() -> float:
    """When to look again at a delivery that met an unreachable Postgres (jittered, so a
    backlog does not come back all at once)."""
    base = settings.DATABASE_OUTAGE_RETRY_SECONDS
    return base + random.uniform(0, base / 2)


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
    try:
        outcome = services.job_run(job_id=job_id)
    except DATABASE_UNAVAILABLE as exc:
        # Postgres is unreachable, so nothing about the job could be recorded (a claim that
        # did not commit spends no attempt). Left unacknowledged, the message would sit out
        # the whole visibility timeout and spend one of its dead-letter receives; a retry
        # is a fresh message that comes back in seconds.
        connection.close()
        countdown = database_outage_countdown()
        logger.warning("job %s: database unavailable (%s); looking again in %.0fs", job_id,
                       exc.__class__.__name__, countdown)
        raise self.retry(countdown=countdown, exc=exc)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
