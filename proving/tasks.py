"""The proving service's Celery tasks: thin shells over proving's services.

Task names are fixed on the wire (fossil.dispatch); prove_job keeps its historical
"handler.prove_job" so that messages already queued still match.
"""

from __future__ import annotations

import logging
import random

from django.conf import settings
from django.db import connection

from celery_app import app
from fossil import dispatch
from fossil.exceptions import DATABASE_UNAVAILABLE
from fossil.http import ServiceCallFailed
from fossil.observability import record_reconciler_actions
from handler.prover_keys import SigningKeyNotCurrent
from offchain.services import pricing_requests_reconcile
from proving import runner, services
from proving.reconciler import reconcile_jobs

logger = logging.getLogger(__name__)


def database_outage_countdown() -> float:
    """When to look again at a delivery that met an unreachable Postgres (jittered, so a
    backlog does not come back all at once)."""
    base = settings.DATABASE_OUTAGE_RETRY_SECONDS
    return base + random.uniform(0, base / 2)


@app.task(
    bind=True,
    name=dispatch.PROVE_JOB,
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
        outcome = runner.job_run_logged(job_id=job_id)
    except DATABASE_UNAVAILABLE as exc:
        # Postgres is unreachable, so nothing about the job could be recorded (a claim that
        # did not commit spends no attempt). Left unacknowledged, the message would sit out
        # the whole visibility timeout and spend one of its dead-letter receives; a retry
        # is a fresh message that comes back in seconds.
        connection.close()
        countdown = database_outage_countdown()
        logger.warning(
            "job %s: database unavailable (%s); looking again in %.0fs", job_id, exc.__class__.__name__, countdown
        )
        raise self.retry(countdown=countdown, exc=exc) from exc
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


# Postgres unreachable: a fresh message in seconds, rather than this one waiting out the
# visibility timeout (the reconciler re-sends outcomes and notifications anyway).
# The same for a worker whose signing key was just retired (the group's composition is signed):
# it stops within KEY_CHECK_SECONDS, and the retry goes to a worker with the current key.
@app.task(
    name=dispatch.RECORD_JOB_OUTCOME,
    autoretry_for=(*DATABASE_UNAVAILABLE, SigningKeyNotCurrent),
    retry_backoff=2,
    retry_backoff_max=8,
    max_retries=8,
)
def record_job_outcome(job_id: int) -> None:
    services.job_group_record_outcome(job_id=job_id)


# A retry countdown is held in worker memory, its message kept invisible by the worker's
# visibility heartbeat (fossil/visibility.py); past the last retry the reconciler re-notifies the group.
@app.task(
    name=dispatch.NOTIFY_OFFCHAIN,
    autoretry_for=(ServiceCallFailed, *DATABASE_UNAVAILABLE),
    retry_backoff=2,
    retry_backoff_max=8,
    max_retries=4,
)
def notify_offchain(group_id: str) -> None:
    services.job_group_notify(group_id=group_id)


@app.task(name=dispatch.RECONCILE, expires=60)
def reconcile() -> None:
    record_reconciler_actions(reconcile_jobs())
    record_reconciler_actions(pricing_requests_reconcile())
