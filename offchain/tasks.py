from __future__ import annotations

from celery import Task
from django.conf import settings

from celery_app import app
from fossil import dispatch
from fossil.exceptions import DATABASE_UNAVAILABLE
from fossil.http import ServiceCallFailed
from offchain import errors, services


class ForwardTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id, run = args
        services.pricing_request_fail(
            job_id=job_id,
            run=run,
            reason=f"could not reach the proving service: {exc}",
            code=errors.PROVING_SERVICE_UNAVAILABLE,
        )


@app.task(
    base=ForwardTask,
    name=dispatch.FORWARD_PRICING_REQUEST,
    autoretry_for=(ServiceCallFailed,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=settings.HTTP_MAX_RETRIES,
)
def forward_pricing_request(job_id: str, run: int) -> None:
    services.pricing_request_forward(job_id=job_id, run=run)


@app.task(
    name=dispatch.SYNC_PRICING_REQUEST,
    autoretry_for=(ServiceCallFailed, *DATABASE_UNAVAILABLE),
    retry_backoff=2,
    retry_backoff_max=16,
    max_retries=5,
)
def sync_pricing_request(job_id: str) -> None:
    services.pricing_request_sync(job_id=job_id)
