"""The proving service's Celery tasks: thin shells over proving's services.

Task names are fixed on the wire (fossil.dispatch); prove_job keeps its historical
"handler.prove_job" so that messages already queued still match.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from celery_app import app
from fossil import dispatch
from fossil.http import ServiceCallFailed
from fossil.observability import record_reconciler_actions
from offchain.services import pricing_requests_reconcile
from proving import runner, services
from proving.reconciler import reconcile_jobs

logger = logging.getLogger(__name__)


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
    began = time.monotonic()
    outcome = runner.job_run(job_id=job_id)
    runner.log_job_outcome(job_id, outcome.status, time.monotonic() - began)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@app.task(name=dispatch.RECORD_JOB_OUTCOME)
def record_job_outcome(job_id: int) -> None:
    services.job_group_record_outcome(job_id=job_id)


# Retry countdowns stay far below the queue's visibility timeout (a countdown is held in
# worker memory, docs/reliability.md); past the last retry the reconciler re-notifies the group.
@app.task(
    name=dispatch.NOTIFY_OFFCHAIN,
    autoretry_for=(ServiceCallFailed,),
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
