"""The callback/polling path: the offchain request takes the proving group's final word."""
from __future__ import annotations

import pytest
from django.utils import timezone

from offchain.models import PricingRequest
from offchain.services import pricing_request_sync
from proving import services as proving_services
from proving.models import Job
from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db(transaction=True)

JOB_ID = "c" * 64


@pytest.fixture
def failed_group(live_server, settings, sqs_queues):
    settings.PROVING_SERVICE_URL = live_server.url
    PricingRequest.objects.create(
        job_id=JOB_ID,
        identifiers=EXAMPLE_REQUEST["identifiers"],
        params=EXAMPLE_REQUEST["params"],
        client_info=EXAMPLE_REQUEST["client_info"],
    )
    ranges = {metric: (100, 200) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = proving_services.job_group_create(job_group_id=JOB_ID, ranges=ranges)
    job = Job.objects.filter(group=group).first()
    Job.objects.filter(pk=job.pk).update(
        status="failed", error_code="missing_block_data", error_message="no blocks", finished_at=timezone.now()
    )
    assert proving_services.job_group_record_outcome(job_id=job.pk) == "failed"


def test_first_run_takes_the_result_even_before_the_forwarding_answer(failed_group):
    assert pricing_request_sync(job_id=JOB_ID) == "failed"
    request = PricingRequest.objects.get(pk=JOB_ID)
    assert request.status == "Failed" and "missing_block_data" in request.error
    assert pricing_request_sync(job_id=JOB_ID) == "ignored"  # a repeat changes nothing


def test_a_rerun_ignores_the_earlier_runs_state_until_forwarded(failed_group):
    PricingRequest.objects.filter(pk=JOB_ID).update(run=2, forwarded_at=None)
    assert pricing_request_sync(job_id=JOB_ID) == "ignored"
    assert PricingRequest.objects.get(pk=JOB_ID).status == "Pending"
