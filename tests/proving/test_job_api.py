from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from fossil.signing import HEADER, sign
from proving.models import Job, JobGroup

pytestmark = pytest.mark.django_db

BODY: dict[str, Any] = {
    "job_group_id": "ab" * 32,
    "twap": {"start_timestamp": 1672531200, "end_timestamp": 1672574400},
    "reserve_price": {"start_timestamp": 1672531200, "end_timestamp": 1672574400},
    "max_return": {"start_timestamp": 1672500000, "end_timestamp": 1672574400},
}


def signed_post(body, *, signature=None):
    raw = json.dumps(body).encode()
    client = APIClient()
    signature = signature or sign("POST", "/api/job", raw)
    return client.post("/api/job", raw, content_type="application/json", headers={HEADER: signature})


def signed_get(path):
    return APIClient().get(path, headers={HEADER: sign("GET", path, b"")})


def test_creates_three_jobs_and_dispatches_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_post(BODY)
    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "message": "All jobs dispatched successfully",
        "job_group_id": BODY["job_group_id"],
    }
    jobs = {job.metric: job for job in Job.objects.filter(group_id=BODY["job_group_id"])}
    assert set(jobs) == {"twap", "reserve_price", "max_return"}
    assert (jobs["max_return"].start_timestamp, jobs["max_return"].end_timestamp) == (1672500000, 1672574400)
    assert all(job.status == Job.Status.PENDING and job.attempts == 0 for job in jobs.values())
    assert len(callbacks) == 1


def test_repeating_the_call_is_idempotent():
    signed_post(BODY)
    response = signed_post(BODY)
    assert response.status_code == 200
    assert Job.objects.count() == 3 and JobGroup.objects.count() == 1


def test_same_group_with_other_ranges_is_a_conflict():
    signed_post(BODY)
    other = dict(BODY, twap={"start_timestamp": 1672531200, "end_timestamp": 1672560000})
    response = signed_post(other)
    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"status", "message", "job_group_id"}
    assert body["status"] == "error" and "twap" in body["message"]


def test_failed_group_runs_again_with_fresh_attempts():
    signed_post(BODY)
    group_id = BODY["job_group_id"]
    Job.objects.filter(group_id=group_id, metric="twap").update(status="failed", attempts=4, error_code="x")
    Job.objects.filter(group_id=group_id).exclude(metric="twap").update(status="succeeded")
    JobGroup.objects.filter(pk=group_id).update(status="failed", error="twap: x")
    assert signed_post(BODY).status_code == 200
    group = JobGroup.objects.get(pk=group_id)
    assert (group.status, group.run, group.error) == ("running", 2, "")
    twap = Job.objects.get(group_id=group_id, metric="twap")
    assert (twap.status, twap.attempts, twap.error_code) == ("pending", 0, "")
    assert Job.objects.filter(group_id=group_id, status="succeeded").count() == 2


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({k: v for k, v in BODY.items() if k != "twap"}, "twap"),
        (dict(BODY, job_group_id="bad id!"), "job_group_id"),
        (dict(BODY, twap={"start_timestamp": 5, "end_timestamp": 5}), "twap"),
        (dict(BODY, twap={"start_timestamp": "5", "end_timestamp": 9}), "twap.start_timestamp"),
        (dict(BODY, extra=True), "extra"),
    ],
)
def test_bad_bodies_get_the_error_shape(body, needle):
    response = signed_post(body)
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"status", "message", "job_group_id"} and answer["status"] == "error"
    assert needle in answer["message"]
    assert JobGroup.objects.count() == 0


def test_unsigned_or_badly_signed_calls_are_refused():
    assert APIClient().post("/api/job", BODY, format="json").status_code == 401
    assert signed_post(BODY, signature="t=1,v1=00").status_code == 401
    assert JobGroup.objects.count() == 0


def test_a_client_key_is_no_way_in(api_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    response = client.post("/api/job", BODY, format="json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    signed_post(BODY)
    assert client.get(f"/api/job/{BODY['job_group_id']}").status_code == 401
    assert JobGroup.objects.count() == 1


def test_group_detail_lists_jobs():
    signed_post(BODY)
    detail = signed_get(f"/api/job/{BODY['job_group_id']}").json()
    assert detail["status"] == "running"
    assert sorted(job["metric"] for job in detail["jobs"]) == ["max_return", "reserve_price", "twap"]
    assert all({"status", "attempts", "error_code", "result"} <= set(job) for job in detail["jobs"])
    assert signed_get("/api/job/unknown").status_code == 404


def test_a_group_id_with_a_trailing_newline_is_refused():
    response = signed_post(dict(BODY, job_group_id=BODY["job_group_id"] + "\n"))
    assert response.status_code == 400 and "job_group_id" in response.json()["message"]
    assert JobGroup.objects.count() == 0
