"""What a client is told about a failure: a stable code and a plain message, nothing internal."""

from __future__ import annotations

import json

import pytest

from offchain import errors
from offchain.models import PricingRequest
from offchain.services import pricing_request_fail
from offchain.tasks import ForwardTask
from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db


def test_a_data_problem_keeps_its_reason_and_wins_over_a_prover_failure():
    jobs = [
        {
            "metric": "twap",
            "status": "failed",
            "error_code": "prover_unavailable",
            "error_message": "bonsai_http: http://10.0.0.1 boom",
        },
        {
            "metric": "max_return",
            "status": "failed",
            "error_code": "no_data",
            "error_message": "missing bucket 2023-01-01T00:00:00Z (unix 1672531200, 60s buckets)",
        },
    ]
    code, detail = errors.client_code_for_jobs(jobs)
    assert code == "no_data" and detail.startswith("max_return: missing bucket")
    assert errors.client_code_for_jobs(jobs[:1]) == ("prover_unavailable", "twap")
    no_message = [{"metric": "twap", "status": "failed", "error_code": "insufficient_data", "error_message": None}]
    assert errors.client_code_for_jobs(no_message) == ("insufficient_data", "twap")
    assert "boom" not in errors.client_error("prover_unavailable", "twap")


def test_the_code_is_the_failed_jobs_not_its_cancelled_siblings():
    jobs = [
        {"metric": "max_return", "status": "failed", "error_code": "cancelled", "error_message": "cancelled: …"},
        {"metric": "reserve_price", "status": "failed", "error_code": "proof_rejected", "error_message": "seal: x"},
        {"metric": "twap", "status": "failed", "error_code": "cancelled", "error_message": "cancelled: …"},
    ]
    assert errors.client_code_for_jobs(jobs) == ("proof_rejected", "reserve_price")
    assert "seal" not in errors.client_error(*errors.client_code_for_jobs(jobs))


def test_every_failure_code_has_its_own_message():
    from handler import failures

    messages = [errors.client_error(code) for code in failures.CODES]
    assert len(set(messages)) == len(failures.CODES)
    assert all(message != errors.CLIENT_MESSAGES[errors.JOB_FAILED] for message in messages)
    # only the causes a retry can fix say "again later"
    for code in failures.CODES:
        assert ("again later" in errors.client_error(code)) == (code in failures.RETRYABLE)


def test_an_unknown_job_code_is_the_generic_one():
    jobs = [{"metric": "twap", "status": "failed", "error_code": "attempts_exhausted", "error_message": "x"}]
    assert errors.client_code_for_jobs(jobs) == ("job_failed", "twap")


def test_an_unreachable_proving_service_is_a_code_without_the_url(key_client):
    job_id = key_client.post("/pricing_data", EXAMPLE_REQUEST, format="json").json()["job_id"]
    exc = ConnectionError("http://127.0.0.1:3000/api/job: ConnectionError: Max retries exceeded")
    ForwardTask().on_failure(exc, "task-id", (job_id, 1), {}, None)
    stored = PricingRequest.objects.get(pk=job_id)
    assert "127.0.0.1:3000" in stored.error  # kept for operators
    body = key_client.get(f"/job_status/{job_id}").json()
    assert (body["status"], body["error_code"]) == ("Failed", "proving_service_unavailable")
    text = json.dumps(body)
    assert "127.0.0.1" not in text and "ConnectionError" not in text and "/api/job" not in text


def test_a_prover_failure_hides_session_ids_and_upstream_bodies(key_client):
    job_id = key_client.post("/pricing_data", EXAMPLE_REQUEST, format="json").json()["job_id"]
    reason = "twap: bonsai_session_failed: session 9f2c-77 FAILED: {'error_msg': 'guest panicked at src/main.rs'}"
    pricing_request_fail(job_id=job_id, run=1, reason=reason, code="proof_rejected")
    body = key_client.get(f"/job_status/{job_id}").json()
    assert body["error_code"] == "proof_rejected" and body["error"] == errors.CLIENT_MESSAGES["proof_rejected"]
    assert "9f2c" not in json.dumps(body) and "panicked" not in json.dumps(body)


def test_a_row_failed_before_codes_existed_shows_a_generic_message(key_client):
    job_id = key_client.post("/pricing_data", EXAMPLE_REQUEST, format="json").json()["job_id"]
    PricingRequest.objects.filter(pk=job_id).update(status="Failed", error="http://internal:3000 exploded")
    body = key_client.get(f"/job_status/{job_id}").json()
    assert (body["error_code"], body["error"]) == ("job_failed", "the request failed")
