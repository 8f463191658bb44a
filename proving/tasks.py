from __future__ import annotations

from celery import shared_task

from fossil.exceptions import DATABASE_UNAVAILABLE
from fossil.http import ServiceCallFailed
from proving import services


# Postgres unreachable: a fresh message in seconds, rather than this one waiting out the
# visibility timeout (the reconciler re-sends outcomes and notifications anyway).
@shared_task(name="proving.record_job_outcome", autoretry_for=DATABASE_UNAVAILABLE, retry_backoff=2,
             retry_backoff_max=8, max_retries=8)
def record_job_outcome(job_id: int) -> None:
    services.job_group_record_outcome(job_id=job_id)


# Retry countdowns stay far below the queue's visibility timeout (they are held in worker
# memory, reliability.md P2); past the last retry the reconciler re-notifies the group.
@shared_task(name="proving.notify_offchain", autoretry_for=(ServiceCallFailed, *DATABASE_UNAVAILABLE), retry_backoff=2, retry_backoff_max=8, max_retries=4)
def notify_offchain(group_id: str) -> None:
    services.job_group_notify(group_id=group_id)


@shared_task(name="proving.reconcile", expires=60)
def reconcile() -> None:
    from offchain.services import pricing_requests_reconcile
    from proving.reconciler import reconcile_jobs

    reconcile_jobs()
    pricing_requests_reconcile()
