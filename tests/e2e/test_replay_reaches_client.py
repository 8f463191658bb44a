"""An operator's replay of a failed group reaches the client's /job_status (issue 14, item 3)."""

from __future__ import annotations

import pytest
import requests
from django.core.management import call_command

from proving import services as proving_services
from proving.models import Job
from tests.conftest import EXAMPLE_REQUEST, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXAMPLE_START, EXAMPLE_END = EXAMPLE_REQUEST["params"]["twap"]


def status_of(live_server, key, job_id):
    return requests.get(f"{live_server.url}/job_status/{job_id}", headers={"X-API-Key": key}, timeout=30).json()


def failed_request(live_server, key) -> str:
    """The README example over an empty block table: it fails with the missing data named."""
    response = requests.post(
        f"{live_server.url}/pricing_data", json=EXAMPLE_REQUEST, headers={"X-API-Key": key}, timeout=30
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]

    def finished():
        body = status_of(live_server, key, job_id)
        return body if body["status"] != "Pending" else None

    body = wait_until(finished, timeout=90, interval=0.5, what="the request to fail")
    assert body["status"] == "Failed", body
    # The group fails with its first failed job; the others may still be queued. Wait for them
    # too, so that none runs after the chain is seeded and none is missed by a retry of "the
    # failed jobs".
    unfinished = Job.objects.filter(group_id=job_id, status__in=[Job.Status.PENDING, Job.Status.RUNNING])
    wait_until(lambda: not unfinished.exists(), timeout=90, interval=0.5, what="every job of the group to finish")
    return job_id


def seed_chain():
    call_command("seed_demo_chain", "--start", str(EXAMPLE_START - 86400), "--end", str(EXAMPLE_END + 3600))


def wait_for_completed(live_server, key, job_id, timeout=90):
    def completed():
        body = status_of(live_server, key, job_id)
        return body if body["status"] == "Completed" else None

    return wait_until(completed, timeout=timeout, interval=0.5, what="/job_status to show Completed")


def test_replay_group_of_a_failed_request_shows_completed_on_job_status(live_server, celery_worker, api_key):
    job_id = failed_request(live_server, api_key)
    seed_chain()  # the operator fixes the cause, then replays
    call_command("replay_group", job_id)
    body = wait_for_completed(live_server, api_key, job_id)
    assert set(body["results"]) == {"twap", "reserve_price", "max_return"}
    assert "error" not in body or not body["error"]


def test_admin_style_retry_of_each_failed_job_reaches_the_client(live_server, celery_worker, api_key):
    job_id = failed_request(live_server, api_key)
    seed_chain()
    for job in Job.objects.filter(group_id=job_id, status="failed"):
        proving_services.job_retry(job_id=job.pk)
    wait_for_completed(live_server, api_key, job_id)


def test_reposting_after_an_unheard_replay_answers_in_seconds(live_server, make_worker, api_key):
    """The notice of a replay is lost (the request stays Failed); re-posting the request
    re-notifies the completed group, so the client sees Completed without waiting for the
    reconciler's poll (no beat runs in this test)."""
    from django.utils import timezone

    from proving.models import JobGroup

    first = make_worker()
    job_id = failed_request(live_server, api_key)
    first.stop()
    seed_chain()
    call_command("replay_group", job_id, "--sync")  # runs the jobs here; no worker takes the outcome
    job = Job.objects.filter(group_id=job_id).first()
    assert proving_services.job_group_record_outcome(job_id=job.pk) == "completed"
    JobGroup.objects.filter(pk=job_id).update(notified_at=timezone.now())  # its notice is lost
    make_worker()
    response = requests.post(
        f"{live_server.url}/pricing_data", json=EXAMPLE_REQUEST, headers={"X-API-Key": api_key}, timeout=30
    )
    # over HTTP the group is told again and answers by callback; in process the re-post
    # reads the completed group in its own transaction
    assert response.status_code == 200 and response.json()["status"] in ("Pending", "Completed")
    wait_for_completed(live_server, api_key, job_id, timeout=30)
