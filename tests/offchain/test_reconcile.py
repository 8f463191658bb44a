"""offchain.services.pricing_requests_reconcile: overdue rows only, remembered, backed off, capped."""

from __future__ import annotations

import copy
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from offchain import services
from offchain.models import PricingRequest
from tests.conftest import EXAMPLE_REQUEST, stub_metric_result

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The messages the reconciler publishes (recorded, not sent); every queue empty."""
    published: list[tuple] = []
    monkeypatch.setattr(services.dispatch, "send", lambda name, *args: published.append((name, *args)) or True)
    monkeypatch.setattr(services, "queue_waiting_messages", lambda name: 0)
    return published


DISTINCT = itertools.count()


def make_requests(count: int, *, forwarded: bool) -> list[str]:
    job_ids = []
    for n in itertools.islice(DISTINCT, count):
        body = copy.deepcopy(EXAMPLE_REQUEST)
        body["client_info"]["timestamp"] += n
        job_id = services.job_id_for(owner=None, **body)
        PricingRequest.objects.create(
            job_id=job_id,
            identifiers=body["identifiers"],
            params=body["params"],
            client_info=body["client_info"],
            forwarded_at=timezone.now() if forwarded else None,
            next_poll_at=timezone.now() + timedelta(minutes=5),
        )
        job_ids.append(job_id)
    return job_ids


def make_due(job_id: str, seconds_ago: float) -> None:
    PricingRequest.objects.filter(pk=job_id).update(next_poll_at=timezone.now() - timedelta(seconds=seconds_ago))


@pytest.fixture
def over_http(settings):
    settings.PROVING_TRANSPORT = "http"


def test_only_overdue_requests_are_looked_at(over_http, sent):
    unforwarded = make_requests(3, forwarded=False)
    forwarded = make_requests(3, forwarded=True)
    make_due(unforwarded[0], 1)
    make_due(forwarded[1], 1)
    assert services.pricing_requests_reconcile() == {"requests_reforwarded": 1, "requests_polled": 1}
    assert sorted(sent) == sorted(
        [
            (services.dispatch.FORWARD_PRICING_REQUEST, unforwarded[0], 1),
            (services.dispatch.SYNC_PRICING_REQUEST, forwarded[1]),
        ]
    )
    sent.clear()
    assert services.pricing_requests_reconcile() == {"requests_reforwarded": 0, "requests_polled": 0}
    assert sent == []  # remembered: not looked at again before its next_poll_at


def test_each_look_pushes_the_next_one_back_exponentially(over_http, sent, settings):
    settings.STATUS_POLL_AFTER_SECONDS = 10
    settings.RECONCILE_POLL_BACKOFF_MAX = 50
    [job_id] = make_requests(1, forwarded=True)
    pauses = []
    for _ in range(4):
        make_due(job_id, 1)
        before = timezone.now()
        services.pricing_requests_reconcile()
        request = PricingRequest.objects.get(pk=job_id)
        pauses.append(round((request.next_poll_at - before).total_seconds() / 10) * 10)
    assert pauses == [10, 20, 40, 50]
    assert request.polls == 4 and len(sent) == 4


def test_a_sweep_is_capped_and_takes_the_most_overdue_first(over_http, sent, settings):
    settings.RECONCILE_BATCH = 2
    job_ids = make_requests(5, forwarded=True)
    for age, job_id in enumerate(job_ids):
        make_due(job_id, 10 + age)
    assert services.pricing_requests_reconcile()["requests_polled"] == 2
    assert [args[1] for args in sent] == [job_ids[4], job_ids[3]]


def test_nothing_is_republished_to_a_queue_with_messages_waiting(over_http, sent, monkeypatch):
    [job_id] = make_requests(1, forwarded=True)
    make_due(job_id, 1)
    due_at = PricingRequest.objects.get(pk=job_id).next_poll_at
    monkeypatch.setattr(services, "queue_waiting_messages", lambda name: 7)
    assert services.pricing_requests_reconcile() == {"requests_reforwarded": 0, "requests_polled": 0}
    assert sent == [] and PricingRequest.objects.get(pk=job_id).next_poll_at == due_at  # still due


def test_in_process_a_poll_reads_the_group_here_and_sends_nothing(key_client, sent, settings, sqs_queues):
    from proving.models import Job, JobGroup

    settings.PROVING_TRANSPORT = "inprocess"
    job_id = key_client.post("/pricing_data", EXAMPLE_REQUEST, format="json").json()["job_id"]
    # the group finished, but its report to the request was lost
    for job in Job.objects.filter(group_id=job_id):
        Job.objects.filter(pk=job.pk).update(status="succeeded", result=stub_metric_result(job.metric))
    JobGroup.objects.filter(pk=job_id).update(status="completed", result={"vault_result": ["0x1"] * 9})
    make_due(job_id, 1)
    assert services.pricing_requests_reconcile() == {"requests_reforwarded": 0, "requests_polled": 1}
    assert PricingRequest.objects.get(pk=job_id).status == "Completed"
    assert sent == []
