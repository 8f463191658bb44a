"""proving.runner on real Postgres: claim, compute, prove, store, retry, fail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from handler import compute
from handler.proofs.errors import (
    BonsaiHttpError,
    BonsaiSessionFailed,
    PricingCheckFailed,
    ProofDeadlineExceeded,
    ReceiptRejected,
)
from handler.proofs.records import ProofRecord
from proving import jobs as job_transitions
from proving import runner
from proving import services as proving_services
from proving.models import Job, Proof

pytestmark = pytest.mark.django_db

START, END = 1672531200, 1672531200 + 6 * 3600  # six hours: 360 one-minute buckets


@pytest.fixture
def chain(db):
    call_command("seed_demo_chain", "--start", str(START - 3600), "--end", str(END + 600))


@pytest.fixture
def jobs(db, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = proving_services.job_group_create(job_group_id="g" * 64, ranges=ranges)
    return {job.metric: job for job in group.jobs.all()}


def test_only_the_last_job_of_a_group_to_finish_publishes_the_outcome(chain, jobs, django_capture_on_commit_callbacks):
    published = []
    for metric in ("twap", "max_return", "reserve_price"):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert runner.job_run(job_id=jobs[metric].pk).status == "succeeded"
        published.append(len(callbacks))
    assert published == [0, 0, 1]


@pytest.mark.parametrize("metric", ["twap", "max_return", "reserve_price"])
def test_job_runs_once_and_stores_one_verified_proof(chain, jobs, metric, django_capture_on_commit_callbacks):
    job = jobs[metric]
    Job.objects.filter(group_id=job.group_id).exclude(pk=job.pk).update(status="succeeded")  # it is the last
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert runner.job_run(job_id=job.pk).status == "succeeded"
    assert len(callbacks) == 1  # the group's outcome message, sent after commit
    job.refresh_from_db()
    assert (job.status, job.attempts, job.lease_token) == ("succeeded", 1, None)
    assert job.result["points"] == 360 and job.result["bucket_seconds"] == 60
    assert float(job.result["value"]) > 0 and len(job.result["felt"]) == 66
    proof = Proof.objects.get(job=job)
    assert proof.record["claim_digest"] == proof.claim_digest
    # a duplicate delivery changes nothing
    assert runner.job_run(job_id=job.pk).status == "skipped"
    assert Proof.objects.filter(job=job).count() == 1
    job.refresh_from_db()
    assert job.attempts == 1


def test_missing_block_data_fails_for_good_naming_the_bucket(db, jobs):
    outcome = runner.job_run(job_id=jobs["twap"].pk)
    assert outcome.status == "failed"
    job = Job.objects.get(pk=jobs["twap"].pk)
    assert job.status == "failed" and job.error_code == "no_data" and job.attempts == 1
    assert "2023-01-01" in job.error_message or str(START) in job.error_message


class FlakyProvider:
    kind = "dev"

    def __init__(self, error):
        self.error = error
        self.calls = 0

    def prove(self, inputs, *, deadline):
        self.calls += 1
        raise self.error


def test_transient_prover_errors_retry_with_backoff_then_fail(chain, jobs, monkeypatch):
    provider = FlakyProvider(ProofDeadlineExceeded("prover took too long"))
    monkeypatch.setattr(compute, "get_provider", lambda: provider)
    job_id = jobs["twap"].pk
    first = runner.job_run(job_id=job_id)
    assert first.status == "retry" and first.retry_in >= 1
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.attempts, job.lease_token) == ("pending", 1, None)
    assert job.error_code == "time_limit" and job.error_message.startswith(provider.error.code)
    for attempt in (2, 3):
        Job.objects.filter(pk=job_id).update(next_attempt_at=timezone.now())
        outcome = runner.job_run(job_id=job_id)
    assert outcome.status == "failed"
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 3)
    assert "gave up after 3 attempts" in job.error_message
    assert provider.calls == 3


def test_permanent_prover_error_fails_at_once(chain, jobs, monkeypatch):
    monkeypatch.setattr(compute, "get_provider", lambda: FlakyProvider(ReceiptRejected("image id differs")))
    assert runner.job_run(job_id=jobs["twap"].pk).status == "failed"
    job = Job.objects.get(pk=jobs["twap"].pk)
    assert job.attempts == 1 and "image id differs" in job.error_message


def test_a_job_leased_elsewhere_is_looked_at_again_later(chain, jobs):
    job_id = jobs["twap"].pk
    token = job_transitions.job_claim(job_id=job_id)
    assert token is not None
    outcome = runner.job_run(job_id=job_id)
    assert outcome.status == "retry" and outcome.retry_in >= 1
    # the first holder dies: once its lease lapses the job is claimed again and finishes
    Job.objects.filter(pk=job_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert runner.job_run(job_id=job_id).status == "succeeded"
    assert Job.objects.get(pk=job_id).attempts == 2


def test_completion_with_a_lost_lease_is_dropped(chain, jobs):
    job = Job.objects.get(pk=jobs["twap"].pk)
    stale = job_transitions.job_claim(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert runner.job_run(job_id=job.pk).status == "succeeded"  # the new holder finishes
    record = ProofRecord.from_json(Proof.objects.get(job=job).record)
    assert job_transitions.job_succeed(job_id=job.pk, token=stale, result={"value": "0"}, record=record) is False
    assert Proof.objects.filter(job=job).count() == 1


@pytest.mark.parametrize(
    ("error", "code", "retried"),
    [
        (BonsaiHttpError("POST /sessions: 503", status=503), "prover_unavailable", True),
        (BonsaiHttpError("POST /sessions: 401", status=401), "prover_unavailable", False),
        (BonsaiSessionFailed("session s1 TIMED_OUT", status="TIMED_OUT", error_msg=None), "time_limit", False),
        (
            BonsaiSessionFailed("session s1 FAILED", status="FAILED", error_msg="guest panicked"),
            "proof_rejected",
            False,
        ),
        (PricingCheckFailed("twap differs from the series"), "data_verification_failed", False),
        (ReceiptRejected("image id differs"), "proof_rejected", False),
    ],
)
def test_each_prover_error_has_its_failure_code_and_only_retryable_ones_retry(
    chain, jobs, monkeypatch, error, code, retried
):
    monkeypatch.setattr(compute, "get_provider", lambda: FlakyProvider(error))
    outcome = runner.job_run(job_id=jobs["twap"].pk)
    job = Job.objects.get(pk=jobs["twap"].pk)
    assert job.error_code == code and job.error_message.startswith(error.code)
    assert (outcome.status, job.status) == (("retry", "pending") if retried else ("failed", "failed"))
