"""A real worker keeps its database connections across tasks (CONN_MAX_AGE), instead of the
new Postgres backend per task that Celery's Django fixup would open (fossil/worker_connections.py)."""

from __future__ import annotations

import copy
import threading

import pytest
import requests
from django.core.management import call_command
from django.db import connection

from offchain.models import PricingRequest
from tests.conftest import EXAMPLE_REQUEST, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

START, END = EXAMPLE_REQUEST["params"]["twap"]
REQUESTS = 6
APP_NAME = "fossil-connection-test"


def worker_backends(seen: set[int], stop: threading.Event) -> None:
    """Every Postgres backend the worker had, sampled every 20 ms (a backend per task lives
    as long as its task, tens of milliseconds)."""
    from django.db import connections

    try:
        with connections["default"].cursor() as cursor:
            while not stop.wait(0.02):
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APP_NAME])
                seen.update(row[0] for row in cursor.fetchall())
    finally:
        connections["default"].close()


def test_a_worker_runs_many_tasks_on_a_few_connections(live_server, make_worker, api_key, transactional_db):
    call_command("seed_demo_chain", "--start", str(START - 3 * 3600), "--end", str(END + 600))
    # libpq names every connection of the worker's processes, so only theirs are counted
    make_worker(env={"PGAPPNAME": APP_NAME}, concurrency=1)
    seen: set[int] = set()
    stop = threading.Event()
    sampler = threading.Thread(target=worker_backends, args=(seen, stop), daemon=True)
    sampler.start()
    try:
        job_ids = []
        for n in range(REQUESTS):
            body = copy.deepcopy(EXAMPLE_REQUEST)
            shift = 60 * (n + 1)  # distinct computations: nothing is shared between them
            for metric in body["params"]:
                body["params"][metric] = [START - shift, END - shift]
            response = requests.post(
                f"{live_server.url}/pricing_data", json=body, headers={"X-API-Key": api_key}, timeout=30
            )
            assert response.status_code == 201, response.text
            job_ids.append(response.json()["job_id"])

        def all_completed() -> bool:
            return PricingRequest.objects.filter(job_id__in=job_ids, status="Completed").count() == REQUESTS

        wait_until(all_completed, timeout=180, interval=0.5, what="the requests to complete")
    finally:
        stop.set()
        sampler.join(timeout=10)
        connection.close()
    # 4 tasks per request (3 proofs, 1 outcome): 24 tasks; a connection per task would show
    # about that many backends. The pool's child, the key guard's and the heartbeat's threads
    # each keep one.
    assert 1 <= len(seen) <= 5, f"{len(seen)} backends for {4 * REQUESTS} tasks"
