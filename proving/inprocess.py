"""The in-process proving client (offchain/proving_client.py, PROVING_TRANSPORT=inprocess).

In the monolith the offchain side hands a request's job group to proving's service in its
own transaction, and reads the group straight from the database. The group reports its
outcome to the offchain request in the transaction that finishes it
(JobGroup.ReportsTo.OFFCHAIN, proving.services.job_group_record_outcome).
"""

from __future__ import annotations

from django.db import transaction

from fossil.exceptions import ApplicationError
from fossil.http import ServiceCallFailed, ServiceCallRejected
from proving import selectors, services
from proving.models import JobGroup


class InProcessProvingClient:
    in_process = True

    def submit(self, body: dict) -> None:
        ranges = {
            metric: (window["start_timestamp"], window["end_timestamp"])
            for metric, window in body.items()
            if metric != "job_group_id"
        }
        try:
            with transaction.atomic():  # a refusal leaves the caller's transaction usable
                services.job_group_create(
                    job_group_id=body["job_group_id"], ranges=ranges, reports_to=JobGroup.ReportsTo.OFFCHAIN
                )
        except ApplicationError as exc:  # what POST /api/job would have answered
            if exc.status_code >= 500:
                raise ServiceCallFailed(exc.message) from exc
            raise ServiceCallRejected(exc.status_code, exc.message) from exc

    def group(self, job_group_id: str) -> dict | None:
        return selectors.job_group_detail(job_group_id)
