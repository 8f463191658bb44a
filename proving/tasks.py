from __future__ import annotations

from celery import shared_task

from fossil.http import ServiceCallFailed
from proving import services


@shared_task(name="proving.record_job_outcome")
def record_job_outcome(job_id: int) -> None:
    services.job_group_record_outcome(job_id=job_id)


# Retry countdowns stay far below the queue's visibility timeout (they are held in worker
# memory, reliability.md P2); past the last retry the reconciler re-notifies the group.
@shared_task(name="proving.notify_offchain", autoretry_for=(ServiceCallFailed,), retry_backoff=2, retry_backoff_max=8, max_retries=4)
def notify_offchain(group_id: str) -> None:
    services.job_group_notify(group_id=group_id)


@shared_task(name="proving.reconcile", expires=60)
def reconcile() -> None:
    from offchain.services import pricing_requests_reconcile
    from proving.reconciler import reconcile_jobs

    from fossil.observability import record_reconciler_actions

    record_reconciler_actions(reconcile_jobs())
    record_reconciler_actions(pricing_requests_reconcile())
