"""proving.jobs: each transition moves a job only from the states its guard names."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from fossil.exceptions import Conflict
from proving import jobs
from proving import services as proving_services
from proving.models import Job

pytestmark = pytest.mark.django_db

START, END = 1672531200, 1672531200 + 3600


@pytest.fixture
def job(settings) -> Job:
    settings.JOB_MAX_ATTEMPTS = 2
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = proving_services.job_group_create(job_group_id="j" * 64, ranges=ranges)
    return group.jobs.get(metric="twap")


def state(job: Job) -> tuple:
    job.refresh_from_db()
    return job.status, job.attempts


def test_a_claimed_job_cannot_be_claimed_again_until_its_lease_lapses(job):
    first = jobs.job_claim(job_id=job.pk)
    assert first is not None and state(job) == ("running", 1)
    assert jobs.job_claim(job_id=job.pk) is None
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    second = jobs.job_claim(job_id=job.pk)
    assert second not in (None, first) and state(job) == ("running", 2)
    assert jobs.job_claim(job_id=job.pk) is None  # attempts used up


def test_only_the_lease_holder_renews_fails_or_retries(job):
    token = jobs.job_claim(job_id=job.pk)
    stale = uuid.uuid4()
    assert jobs.job_renew_lease(job_id=job.pk, token=token) is True
    assert jobs.job_renew_lease(job_id=job.pk, token=stale) is False
    jobs.job_fail(job_id=job.pk, token=stale, code="x", message="not mine")
    jobs.job_retry_or_fail(job_id=job.pk, token=stale, code="x", message="not mine")
    assert state(job) == ("running", 1)


def test_a_retry_waits_for_its_time_then_the_last_attempt_fails_for_good(job):
    token = jobs.job_claim(job_id=job.pk)
    delay = jobs.job_retry_or_fail(job_id=job.pk, token=token, code="prover_unavailable", message="busy")
    assert delay is not None and delay > 0 and state(job) == ("pending", 1)
    if delay > 1:
        assert jobs.job_claim(job_id=job.pk) is None  # not before next_attempt_at
    Job.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    token = jobs.job_claim(job_id=job.pk)
    assert jobs.job_retry_or_fail(job_id=job.pk, token=token, code="prover_unavailable", message="busy") is None
    assert state(job) == ("failed", 2) and "gave up after 2 attempts" in job.error_message


def test_exhausted_jobs_fail_only_once_their_last_lease_is_long_gone(job, settings):
    jobs.job_claim(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(attempts=2, lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert jobs.job_fail_exhausted(job_id=job.pk) is False  # its worker may still be renewing
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_LEASE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=long_ago)
    assert jobs.job_fail_exhausted(job_id=job.pk) is True
    assert state(job) == ("failed", 2) and job.error_code == "prover_unavailable"  # a worker lost mid-proof
    assert jobs.job_fail_exhausted(job_id=job.pk) is False


def test_replay_resets_a_failed_job_and_refuses_a_running_one(job):
    token = jobs.job_claim(job_id=job.pk)
    with pytest.raises(Conflict):
        jobs.job_reset_for_replay(job_id=job.pk)
    jobs.job_fail(job_id=job.pk, token=token, code="data_verification_failed", message="bad")
    jobs.job_reset_for_replay(job_id=job.pk)
    assert state(job) == ("pending", 0) and job.error_code == "" and job.lease_token is None


def test_a_rerun_resets_every_job_but_the_succeeded_ones(job):
    Job.objects.filter(pk=job.pk).update(status="succeeded", attempts=1)
    Job.objects.filter(group_id=job.group_id).exclude(pk=job.pk).update(status="failed", attempts=2)
    reset = jobs.jobs_reset_unfinished(group_id=job.group_id)
    assert len(reset) == 2 and job.pk not in reset
    assert state(job) == ("succeeded", 1)
    assert set(Job.objects.filter(pk__in=reset).values_list("status", "attempts")) == {("pending", 0)}
