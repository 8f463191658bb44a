"""S16, S17: worker machines added and killed while work flows, against one SQS and one
Postgres. The queues' visibility timeout is short and extended by the worker that holds a
message (fossil/visibility.py), so a live worker keeps what it runs and a killed one's
messages are back within that short timeout."""

from __future__ import annotations

import os
import signal
import time

import pytest

from proving.models import Job
from tests.chaos.conftest import record_recovery, running_job, wait_group, wait_prover_started
from tests.chaos.invariants import check_invariants
from tests.conftest import wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

# A proof takes 4 s (under the 5 s deadline of the chaos soft limit); the visibility timeout
# is 3 s, so without the heartbeat every running message would be handed out again.
LONGER_THAN_VISIBILITY = {"SQS_VISIBILITY_TIMEOUT": "3", "FAULT_SLEEP": "4"}
DUPLICATE_DELIVERY_LINES = ("not claimable yet", "already finished; dropping this delivery")


# Scenario S16 of docs/reliability.md.
def test_a_proof_longer_than_the_visibility_timeout_keeps_its_message(chaos_worker, make_group, clean_queues):
    with clean_queues.attributes("proofs", VisibilityTimeout=3):
        # two machines with a free slot between them: a message that became visible again
        # would be taken by that slot at once
        machines = [chaos_worker(env=LONGER_THAN_VISIBILITY), chaos_worker(env=LONGER_THAN_VISIBILITY, beat=True)]
        t0 = time.monotonic()
        group = make_group()
        wait_group(group)
        elapsed = time.monotonic() - t0
        check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    assert all(job.attempts == 1 for job in Job.objects.filter(group_id=group))
    logs = "".join(machine.log_path.read_text() for machine in machines)
    assert not [line for line in DUPLICATE_DELIVERY_LINES if line in logs], logs[-3000:]
    record_recovery("S16 proofs longer than visibility (heartbeat)", "1 delivery per job", elapsed)


# Scenario S17 of docs/reliability.md.
def test_a_killed_machines_messages_are_back_within_the_visibility_timeout(chaos_worker, make_group, clean_queues):
    # proofs of 12 s, so the victim still runs while the second machine starts
    env = {
        "SQS_VISIBILITY_TIMEOUT": "6",
        "FAULT_SLEEP": "12",
        "PROOF_SOFT_TIME_LIMIT": "30",
        "PROOF_HARD_TIME_LIMIT": "35",
    }
    with clean_queues.attributes("proofs", VisibilityTimeout=6):
        first = chaos_worker(env=env, concurrency=1)
        group = make_group()
        victim = wait_until(lambda: running_job(group), timeout=30, interval=0.05, what="a job to start")
        wait_prover_started(victim.pk)
        chaos_worker(env=env, beat=True)  # a second machine, added while work flows
        t0 = time.monotonic()
        for pid in [*first.all_pids(), first.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        first.proc.wait(10)
        assert Job.objects.get(pk=victim.pk).status == Job.Status.RUNNING  # killed mid-proof
        wait_group(group)
        recovery = time.monotonic() - t0
        check_invariants(clean_queues, groups=[group])
    assert Job.objects.get(pk=victim.pk).attempts == 2
    assert recovery < 90, recovery  # about a minute at most: 6 s visibility + 3 s lease + the 12 s proof again
    record_recovery("S17 kill -9 one of two machines", "SUCCEEDED on the other, attempt 2", recovery)
