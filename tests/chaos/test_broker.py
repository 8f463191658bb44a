"""S4 (broker down at dispatch) and S5 (broker restart during consumption).

These run against a separate moto server that the test stops and starts: the session's
moto (and this process's Celery app, bound to it at import) stays untouched, so the API
call is made from a subprocess pointed at the separate broker.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from proving.models import Job, JobGroup
from scripts import devstack
from tests.chaos.conftest import END, PYTHON, START, Queues, python_subprocess_env, record_recovery, wait_group
from tests.chaos.invariants import check_invariants
from tests.conftest import REPO, wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]


class Broker:
    def __init__(self, log_dir: Path):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_dir / f"moto-{self.port}.log", "a")
        self.proc = None
        self.prefix = f"b{uuid.uuid4().hex[:6]}-"

    def start(self):
        self.proc = subprocess.Popen(
            devstack.sqs_emulator_command(self.port),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def answering():
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                return True
            except OSError:
                return False

        wait_until(answering, timeout=30, what="moto server")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def env(self, worker_env: dict) -> dict:
        return python_subprocess_env(worker_env, AWS_ENDPOINT_URL_SQS=self.url, SQS_QUEUE_PREFIX=self.prefix)

    def existing_queues(self) -> Queues:
        """The queues as they are on the broker (fails if one is missing)."""
        client = boto3.client(
            "sqs",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        urls = {}
        for name in ("proofs", "outcomes", "housekeeping"):
            for full in (name, f"{name}-dlq"):
                urls[full] = client.get_queue_url(QueueName=self.prefix + full)["QueueUrl"]
        return Queues(client, urls)

    def ensure_queues(self, worker_env: dict) -> Queues:
        subprocess.run(
            [PYTHON, "manage.py", "ensure_queues"], cwd=REPO, env=self.env(worker_env), check=True, capture_output=True
        )
        return self.existing_queues()


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


SUBMIT = r"""
import json, sys, time
import django
django.setup()
from django.test import Client
from fossil.signing import META_KEY, sign
payload = json.loads(sys.argv[1])
body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
t0 = time.monotonic()
r = Client().post("/api/job", data=body, content_type="application/json", HTTP_HOST="127.0.0.1",
                  **{META_KEY: sign("POST", "/api/job", body)})
print(json.dumps({"status": r.status_code, "seconds": time.monotonic() - t0, "body": r.content.decode()[:300]}))
"""


def submit(env: dict, group_id: str) -> dict:
    window = {"start_timestamp": START, "end_timestamp": END}
    payload = {"job_group_id": group_id, "twap": window, "reserve_price": window, "max_return": window}
    out = subprocess.run(
        [PYTHON, "-c", SUBMIT, json.dumps(payload)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# Scenario S4 of docs/reliability.md.
def test_a_dead_broker_at_dispatch_neither_hangs_nor_loses_jobs(chaos_worker, seeded, broker, worker_env):
    broker.ensure_queues(worker_env)
    broker.stop()
    group = "e" * 64
    answer = submit(broker.env(worker_env), group)
    assert answer["status"] == 200, answer
    assert answer["seconds"] < 5, answer  # never hangs on a dead broker
    assert Job.objects.filter(group_id=group, dispatched_at__isnull=True).count() == 3  # the outbox holds them
    t0 = time.monotonic()
    broker.start()  # a fresh, empty broker: queues are created again
    queues = broker.ensure_queues(worker_env)
    chaos_worker(env=broker.env({}), beat=True)
    wait_group(group, timeout=60)
    elapsed = time.monotonic() - t0
    check_invariants(queues, groups=[group], executions_equal_attempts=True)
    record_recovery(
        "S4 broker down at dispatch", f"API 200 in {answer['seconds']:.1f}s, outbox re-sent, SUCCEEDED", elapsed
    )


# Scenario S5 of docs/reliability.md.
def test_a_broker_restart_during_consumption_heals_itself(chaos_worker, seeded, broker, worker_env):
    """SQS restarted with its state lost mid-proof, and nobody runs ensure_queues or restarts
    anything by hand: the worker's watchdog creates the queues again (with their dead-letter
    queues), the reconciler re-sends the lost messages after its short window, and a worker
    whose consumer stalled after the outage stops with exit code 3 (or crashed in kombu) and is
    started again by its supervisor (this test plays make run's part). Whether kombu's consumer stalls depends on
    timing; both paths must end with the group completed."""
    broker.ensure_queues(worker_env)
    env = dict(
        broker.env({}),
        FAULT_SLEEP="3",
        RECONCILE_LOST_MESSAGE_SECONDS="5",
        WATCHDOG_INTERVAL_SECONDS="1",
        WORKER_STALL_SECONDS="5",
    )
    workers = [chaos_worker(env=env, beat=True, concurrency=1)]
    group = "f" * 64
    answer = submit(broker.env(worker_env), group)
    assert answer["status"] == 200, answer
    wait_until(lambda: Job.objects.filter(group_id=group, status="running").exists(), timeout=30, what="a job to run")
    t0 = time.monotonic()
    broker.stop()
    time.sleep(5)
    broker.start()  # moto keeps nothing: every queue and message (waiting or in flight) is gone
    restarts = []

    def completed_with_a_supervisor():
        worker = workers[-1]
        if worker.proc.poll() is not None:
            # 3: the watchdog saw a stalled consumer; 1: kombu's consumer crashed on the outage
            assert worker.proc.returncode != 0, worker.log_tail()
            restarts.append(worker.proc.returncode)
            workers.append(chaos_worker(env=env, beat=True, concurrency=1))
        return JobGroup.objects.filter(pk=group, status=JobGroup.Status.COMPLETED).exists()

    wait_until(completed_with_a_supervisor, timeout=150, interval=1, what="the group to complete with no human step")
    elapsed = time.monotonic() - t0
    queues = broker.existing_queues()  # created again by the watchdog, not by hand
    redrive = json.loads(
        queues.client.get_queue_attributes(QueueUrl=queues.urls["proofs"], AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    assert redrive["deadLetterTargetArn"].endswith(broker.prefix + "proofs-dlq")
    check_invariants(queues, groups=[group])
    # the (possibly restarted) worker still consumes after the outage
    canary = "9" * 64
    submit(broker.env(worker_env), canary)
    wait_group(canary, timeout=60)
    outcome = (
        f"worker exited {restarts} and was restarted by its supervisor" if restarts else "worker kept consuming"
    ) + "; queues recreated by the watchdog; lost messages re-sent; SUCCEEDED"
    record_recovery("S5 broker restart (5s, state lost) mid-proof, no human step", outcome, elapsed)
