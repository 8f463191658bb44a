"""S7 (prover timeout, soft and hard limits) and S8 (transient and permanent prover errors)."""

from __future__ import annotations

import time

import pytest

from proving.models import Job, JobGroup
from tests.chaos.conftest import record_recovery, wait_group
from tests.chaos.fault_prover import invocations
from tests.chaos.invariants import check_invariants

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

# Soft limit 6 s (so the provider's own deadline is 1 s), hard limit 8 s.
SHORT_LIMITS = {"PROOF_SOFT_TIME_LIMIT": "6", "PROOF_HARD_TIME_LIMIT": "8"}


def make_short_group(make_group) -> str:
    """Celery puts a task's time limits in the message header at publish time, so the first
    attempt is published here with the workers' short limits (retries come from the worker)."""
    from django.utils import timezone

    from proving.tasks import prove_job

    group = make_group(max_attempts=2, dispatch=False)
    for job_id in Job.objects.filter(group_id=group).values_list("pk", flat=True):
        prove_job.apply_async(args=[job_id], soft_time_limit=6, time_limit=8)
    Job.objects.filter(group_id=group).update(dispatched_at=timezone.now())
    return group


# Scenario S7 of docs/reliability.md.
def test_a_prover_hanging_past_the_soft_limit(chaos_worker, make_group, clean_queues):
    chaos_worker(env=dict(SHORT_LIMITS, FAULT_MODE="hang", FAULT_METRICS="twap"), beat=True)
    t0 = time.monotonic()
    group = make_short_group(make_group)
    wait_group(group, status="failed", timeout=60)
    elapsed = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    twap = Job.objects.get(group_id=group, metric="twap")
    assert (twap.status, twap.attempts, twap.error_code) == ("failed", 2, "time_limit"), twap.error_message
    assert "gave up after 2 attempts" in twap.error_message
    record_recovery("S7 prover hang (soft time limit)", "FAILED time_limit after 2 attempts; others SUCCEEDED", elapsed)


# Scenario S7 of docs/reliability.md.
def test_a_prover_ignoring_the_soft_limit_is_killed_by_the_hard_limit(chaos_worker, make_group, clean_queues):
    # The hard limit kills the pool child; the timed-out message is not acked (acks_on_failure_or_timeout
    # is False), so it comes back after the queue's visibility timeout: shortened here.
    with clean_queues.attributes("proofs", VisibilityTimeout=10):
        worker = chaos_worker(env=dict(SHORT_LIMITS, FAULT_MODE="hang_hard", FAULT_METRICS="twap"), beat=True)
        t0 = time.monotonic()
        group = make_short_group(make_group)
        wait_group(group, status="failed", timeout=90)
        elapsed = time.monotonic() - t0
        check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    twap = Job.objects.get(group_id=group, metric="twap")
    assert twap.status == "failed" and twap.attempts == 2, (twap.error_code, twap.error_message)
    assert "TimeLimitExceeded" in worker.log_path.read_text()
    record_recovery("S7 prover ignores soft limit (hard limit)", f"FAILED {twap.error_code} after 2 attempts", elapsed)


# Scenario S8 of docs/reliability.md.
def test_transient_prover_errors_then_success(chaos_worker, make_group, clean_queues):
    chaos_worker(env={"FAULT_MODE": "transient", "FAULT_TIMES": "2"}, beat=True)
    t0 = time.monotonic()
    group = make_group()
    wait_group(group, timeout=60)
    elapsed = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    for job in Job.objects.filter(group_id=group):
        assert job.attempts == 3
        starts = [float(l.split("t=")[1]) for l in invocations(str(job.pk)) if l.startswith("start")]
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert gaps[1] >= gaps[0] - 0.5, gaps  # backoff does not shrink
    record_recovery("S8 transient prover error x2", "SUCCEEDED on attempt 3 (backoff 1.5s, 2s)", elapsed)


# Scenario S8 of docs/reliability.md.
def test_a_permanent_prover_error_fails_at_once(chaos_worker, make_group, clean_queues):
    chaos_worker(env={"FAULT_MODE": "permanent", "FAULT_METRICS": "reserve_price"}, beat=True)
    t0 = time.monotonic()
    group = make_group()
    wait_group(group, status="failed", timeout=60)
    elapsed = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    job = Job.objects.get(group_id=group, metric="reserve_price")
    assert (job.status, job.attempts, job.error_code) == ("failed", 1, "proof_rejected")
    assert "prover_rejected" in JobGroup.objects.get(pk=group).error
    record_recovery("S8 permanent prover error", "FAILED on attempt 1, reason stored, group notified", elapsed)
