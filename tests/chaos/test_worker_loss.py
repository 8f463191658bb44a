"""S1, S2, S3, S14, S15: workers killed or stopped mid-proof, lost messages, crash loops."""

from __future__ import annotations

import os
import signal
import time

import pytest

from proving.models import Job, JobGroup
from tests.chaos.conftest import record_recovery, running_job, wait_group, wait_prover_started
from tests.chaos.invariants import check_invariants
from tests.conftest import wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

SLOW = {"FAULT_SLEEP": "3"}  # a proof takes 3 s (the deadline is soft limit - 5 s = 5 s)


def start_victim(worker, group_id):
    job = wait_until(lambda: running_job(group_id), timeout=30, interval=0.05, what="a job to start")
    wait_prover_started(job.pk)
    return job


@pytest.mark.parametrize("reject_on_worker_lost", ["true", "false"])
# Scenario S1 of docs/reliability.md.
def test_a_pool_child_killed_mid_proof(chaos_worker, make_group, clean_queues, reject_on_worker_lost):
    worker = chaos_worker(env=dict(SLOW, CHAOS_REJECT_ON_WORKER_LOST=reject_on_worker_lost), beat=True)
    group = make_group()
    victim = start_victim(worker, group)
    pid = worker.busy_pool_pid(victim.pk)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_group(group)
    recovery = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group])
    assert Job.objects.get(pk=victim.pk).attempts == 2
    record_recovery(
        f"S1 kill -9 pool child (reject_on_worker_lost={reject_on_worker_lost})",
        "SUCCEEDED, attempt 2, 1 proof/job",
        recovery,
    )


# Scenario S2 of docs/reliability.md.
def test_a_worker_main_process_killed_mid_proof(chaos_worker, make_group, clean_queues):
    with clean_queues.attributes("proofs", VisibilityTimeout=8):
        first = chaos_worker(env=SLOW, concurrency=1)
        group = make_group()
        victim = start_victim(first, group)
        t0 = time.monotonic()
        os.kill(first.proc.pid, signal.SIGKILL)  # children die with it (PR_SET_PDEATHSIG)
        first.proc.wait(10)
        wait_until(lambda: not first.all_pids(), timeout=10, what="pool children to die with the main process")
        chaos_worker(env=SLOW, beat=True)
        wait_group(group)
        recovery = time.monotonic() - t0
        check_invariants(clean_queues, groups=[group])
    assert Job.objects.get(pk=victim.pk).attempts == 2
    record_recovery("S2 kill -9 worker main process", "SUCCEEDED on 2nd worker, attempt 2", recovery)


# Scenario S3 of docs/reliability.md.
def test_warm_shutdown_finishes_the_running_proof(chaos_worker, make_group, clean_queues):
    worker = chaos_worker(env=SLOW, concurrency=1)
    group = make_group()
    victim = start_victim(worker, group)
    t0 = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(30) == 0
    stop_s = time.monotonic() - t0
    assert Job.objects.get(pk=victim.pk).status == Job.Status.SUCCEEDED
    assert Job.objects.get(pk=victim.pk).attempts == 1
    chaos_worker(beat=True)
    wait_group(group)
    recovery = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    record_recovery("S3 warm shutdown (SIGTERM) mid-proof", f"proof finished, exit 0 in {stop_s:.1f}s", recovery)


# Scenario S3 of docs/reliability.md.
def test_soft_shutdown_restores_the_message(chaos_worker, make_group, clean_queues):
    env = dict(FAULT_SLEEP="4", CHAOS_SOFT_SHUTDOWN_TIMEOUT="1")
    worker = chaos_worker(env=env, concurrency=1)
    group = make_group()
    victim = start_victim(worker, group)
    t0 = time.monotonic()
    # Soft shutdown is the time-limited warm phase in front of a cold shutdown (SIGQUIT,
    # or SIGTERM when the worker runs with REMAP_SIGTERM=SIGQUIT).
    worker.proc.send_signal(signal.SIGQUIT)
    worker.proc.wait(30)
    log = worker.log_path.read_text()
    assert "Restoring 1 unacknowledged message(s)" in log, worker.log_tail()
    chaos_worker(env={"FAULT_SLEEP": "1"}, beat=True)
    wait_group(group)
    recovery = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group])
    assert Job.objects.get(pk=victim.pk).attempts == 2
    record_recovery("S3 soft shutdown (timeout 1s < proof)", "message restored, attempt 2 on next worker", recovery)


@pytest.mark.parametrize("how", ["SIGQUIT", "SIGTERM+SIGINT"])
# Scenario S3 of docs/reliability.md.
def test_cold_shutdown_loses_nothing(chaos_worker, make_group, clean_queues, how):
    with clean_queues.attributes("proofs", VisibilityTimeout=8):
        worker = chaos_worker(env=SLOW, concurrency=1)
        group = make_group()
        victim = start_victim(worker, group)
        t0 = time.monotonic()
        if how == "SIGQUIT":
            worker.proc.send_signal(signal.SIGQUIT)
        else:
            worker.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            worker.proc.send_signal(signal.SIGINT)
        worker.proc.wait(30)
        chaos_worker(env={"FAULT_SLEEP": "1"}, beat=True)
        wait_group(group)
        recovery = time.monotonic() - t0
        check_invariants(clean_queues, groups=[group])
    assert Job.objects.get(pk=victim.pk).attempts <= 2
    record_recovery(f"S3 cold shutdown ({how}) mid-proof", "SUCCEEDED, <=2 attempts, 1 proof/job", recovery)


# Scenario S3 of docs/reliability.md.
def test_soft_shutdown_on_idle_is_quick(chaos_worker, clean_queues):
    worker = chaos_worker(env=dict(CHAOS_SOFT_SHUTDOWN_TIMEOUT="5", CHAOS_SOFT_SHUTDOWN_ON_IDLE="true"))
    t0 = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(30) == 0
    stop_s = time.monotonic() - t0
    assert stop_s < 10
    assert all(clean_queues.depth(name) == 0 for name in ("proofs", "outcomes", "housekeeping"))
    record_recovery(
        "S3 shutdown of an idle worker (soft, on idle)", f"exit 0 in {stop_s:.1f}s, nothing in flight", stop_s
    )


# Scenario S14 of docs/reliability.md.
def test_lost_messages_and_never_published_rows_are_sent_again(chaos_worker, make_group, clean_queues):
    worker = chaos_worker(env=SLOW, concurrency=1)
    group = make_group()
    victim = start_victim(worker, group)
    unpublished = make_group(dispatch=False)  # committed, but the process "died" before publishing
    assert not Job.objects.filter(group_id=unpublished, dispatched_at__isnull=False).exists()
    t0 = time.monotonic()
    clean_queues.client.purge_queue(QueueUrl=clean_queues.urls["proofs"])  # in flight and waiting: all gone
    worker.kill()
    chaos_worker(env={"FAULT_SLEEP": "0.5"}, beat=True)
    wait_group(unpublished)
    unpublished_s = time.monotonic() - t0
    wait_group(group)
    recovery = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group, unpublished])
    assert Job.objects.get(pk=victim.pk).attempts == 2
    record_recovery("S14 never-published rows (reconciler)", "SUCCEEDED", unpublished_s)
    record_recovery("S14 messages purged + worker killed", "SUCCEEDED (lease lapse + lost-message re-send)", recovery)


# Scenario S15 of docs/reliability.md.
def test_a_crash_loop_fails_the_job_and_serves_others(chaos_worker, make_group, clean_queues):
    chaos_worker(env={"FAULT_MODE": "crash", "FAULT_METRICS": "twap"}, beat=True)
    group = make_group(max_attempts=3)
    t0 = time.monotonic()
    wait_group(group, status="failed", timeout=90)
    recovery = time.monotonic() - t0
    twap = Job.objects.get(group_id=group, metric="twap")
    check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    assert twap.status == Job.Status.FAILED and twap.attempts == 3
    assert twap.error_code == "prover_unavailable", (twap.error_code, twap.error_message)
    others = Job.objects.filter(group_id=group).exclude(metric="twap")
    assert all(job.status == Job.Status.SUCCEEDED for job in others)
    assert "twap" in JobGroup.objects.get(pk=group).error
    record_recovery(
        "S15 crash loop (os._exit every run)",
        "FAILED prover_unavailable (worker lost) after 3; others SUCCEEDED",
        recovery,
    )
