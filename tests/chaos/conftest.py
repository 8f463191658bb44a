"""Chaos tier fixtures: workers with short time knobs, the fault prover, queue helpers,
and a recovery-time log printed as a table at the end of the session."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from tests.conftest import REPO, WorkerProcess, wait_until

START, END = 1672531200, 1672531200 + 3 * 3600
METRICS = ("twap", "reserve_price", "max_return")

# Short knobs for every chaos worker (settings.py reads them from the environment).
# SQS_VISIBILITY_TIMEOUT is the worker's view: what its heartbeat extends held messages to
# (fossil/visibility.py) and the reconciler's redelivery window for a lapsed lease.
CHAOS_ENV = {
    "PROOF_SOFT_TIME_LIMIT": "10",
    "PROOF_HARD_TIME_LIMIT": "12",
    "RETRY_BACKOFF_MAX": "2",
    "RETRY_BACKOFF_BASE": "1.5",
    "SQS_VISIBILITY_TIMEOUT": "24",
    "JOB_LEASE_SECONDS": "3",
    "RECONCILE_INTERVAL_SECONDS": "1",
    "FORWARD_GRACE_SECONDS": "2",
    "STATUS_POLL_AFTER_SECONDS": "2",
    "PROVER_FACTORY": "tests.chaos.fault_prover:build",
    "FAULT_MODE": "none",
    "FAULT_SLEEP": "0",
}

RECOVERY: list[dict] = []


def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: fault-injection tests (real Postgres, moto SQS, worker processes)")


def record_recovery(scenario: str, outcome: str, seconds: float | None) -> None:
    row = {"scenario": scenario, "outcome": outcome, "recovery_s": None if seconds is None else round(seconds, 1)}
    RECOVERY.append(row)
    print(f"\nCHAOS {scenario}: {outcome} (recovery {row['recovery_s']} s)", flush=True)


def pytest_terminal_summary(terminalreporter):
    if not RECOVERY:
        return
    terminalreporter.section("chaos: scenario -> outcome -> recovery time")
    for row in RECOVERY:
        rec = "-" if row["recovery_s"] is None else f"{row['recovery_s']:.1f} s"
        terminalreporter.write_line(f"{row['scenario']:<48} {row['outcome']:<60} {rec}")
    out = Path(os.environ.get("FOSSIL_RUN_DIR", REPO / ".run")) / "chaos-recovery.json"
    try:
        out.write_text(json.dumps(RECOVERY, indent=1))
    except OSError:
        pass


class ChaosWorker(WorkerProcess):
    """A worker on the chaos app (tests.chaos.celery_app), optionally with embedded beat."""

    def __init__(self, env, log_path, queues, name, concurrency=2, beat=False, schedule: Path | None = None):
        super().__init__(env, log_path, queues, name, concurrency)
        self.argv[self.argv.index("celery_app")] = "tests.chaos.celery_app"
        if beat:
            self.argv += ["-B", "--schedule", str(schedule)]

    def start(self, timeout: float = 60) -> ChaosWorker:
        super().start(timeout)
        return self

    def all_pids(self) -> list[int]:
        import psutil

        try:
            return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def busy_pool_pid(self, job_id: int) -> int | None:
        """The pool child that wrote the latest 'start' marker for this job."""
        from tests.chaos.fault_prover import invocations

        os.environ.setdefault("FAULT_MARKERS", self.env["FAULT_MARKERS"])
        lines = [line for line in invocations(str(job_id)) if line.startswith("start")]
        return int(lines[-1].split("pid=")[1].split()[0]) if lines else None


@pytest.fixture
def markers(tmp_path, monkeypatch):
    path = tmp_path / "markers"
    path.mkdir()
    monkeypatch.setenv("FAULT_MARKERS", str(path))
    return path


@pytest.fixture
def chaos_worker(worker_env, worker_logs, markers, request, tmp_path):
    """chaos_worker(env={...}, beat=True, concurrency=2) starts a worker for this test."""
    started: list[ChaosWorker] = []

    def make(
        *,
        env: dict | None = None,
        beat: bool = False,
        concurrency: int = 2,
        queues: str = "proofs,outcomes,housekeeping",
        start: bool = True,
    ) -> ChaosWorker:
        name = f"{request.node.name[:40]}-{len(started)}".replace("[", "-").replace("]", "")
        full_env = dict(worker_env, **CHAOS_ENV, FAULT_MARKERS=str(markers))
        full_env.update(env or {})
        worker = ChaosWorker(
            full_env,
            worker_logs / f"{name}.log",
            queues,
            name,
            concurrency,
            beat=beat,
            schedule=tmp_path / f"beat-{len(started)}",
        )
        started.append(worker)
        return worker.start() if start else worker

    yield make
    for worker in started:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.stop(timeout=20)
        for pid in worker.all_pids() if worker.proc else []:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def sqs(sqs_queues):
    from fossil.queues import sqs_client

    return Queues(sqs_client(), sqs_queues)


class Queues:
    def __init__(self, client, urls: dict[str, str]):
        self.client, self.urls = client, urls

    def depth(self, name: str) -> int:
        attrs = self.client.get_queue_attributes(
            QueueUrl=self.urls[name],
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def drain(self, name: str) -> list[dict]:
        """Receives and deletes every visible message (no PurgeQueue: moto allows one a minute)."""
        taken = []
        while True:
            msgs = self.client.receive_message(
                QueueUrl=self.urls[name], MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
            ).get("Messages", [])
            if not msgs:
                return taken
            for msg in msgs:
                self.client.delete_message(QueueUrl=self.urls[name], ReceiptHandle=msg["ReceiptHandle"])
            taken += msgs

    @contextmanager
    def attributes(self, name: str, **attrs):
        old = self.client.get_queue_attributes(QueueUrl=self.urls[name], AttributeNames=list(attrs))["Attributes"]
        self.client.set_queue_attributes(QueueUrl=self.urls[name], Attributes={k: str(v) for k, v in attrs.items()})
        try:
            yield
        finally:
            self.client.set_queue_attributes(QueueUrl=self.urls[name], Attributes=old)


@pytest.fixture
def clean_queues(sqs):
    """Every chaos test starts with empty work queues and empty dead-letter queues.

    A message an earlier test's killed worker still held is in flight, invisible to a drain,
    until its visibility timeout ends; it is waited for (bounded by that timeout) and drained,
    so it cannot surface in the next test.
    """
    for name in list(sqs.urls):
        if name.endswith("-dlq"):
            sqs.drain(name)
    work = [name for name in sqs.urls if not name.endswith("-dlq")]
    timeouts = [
        int(
            sqs.client.get_queue_attributes(QueueUrl=sqs.urls[n], AttributeNames=["VisibilityTimeout"])["Attributes"][
                "VisibilityTimeout"
            ]
        )
        for n in work
    ]
    deadline = time.monotonic() + min(150, max(timeouts, default=0) + 5)
    while True:
        for name in work:
            sqs.drain(name)
        if all(sqs.depth(name) == 0 for name in work) or time.monotonic() > deadline:
            return sqs
        time.sleep(0.5)


@pytest.fixture
def seeded(transactional_db):
    call_command("seed_demo_chain", "--start", str(START - 600), "--end", str(END + 600))


@pytest.fixture
def make_group(seeded, clean_queues):
    """make_group(max_attempts=N, dispatch=True) creates one three-job group; messages go out on commit."""
    from proving import services
    from proving.models import Job

    counter = iter(range(1000))

    def make(*, max_attempts: int | None = None, dispatch: bool = True, group_id: str | None = None) -> str:
        group_id = group_id or f"{next(counter):x}".rjust(64, "c")
        ranges = {metric: (START, END) for metric in METRICS}
        with transaction.atomic():
            if not dispatch:
                with _no_dispatch():
                    services.job_group_create(job_group_id=group_id, ranges=ranges)
            else:
                services.job_group_create(job_group_id=group_id, ranges=ranges)
            if max_attempts is not None:
                Job.objects.filter(group_id=group_id).update(max_attempts=max_attempts)
        return group_id

    return make


@contextmanager
def _no_dispatch():
    """Simulates a process that died after committing the group, before publishing."""
    from proving import services

    original = services.dispatch_on_commit
    services.dispatch_on_commit = lambda job_ids: None
    try:
        yield
    finally:
        services.dispatch_on_commit = original


def wait_group(group_id: str, *, status: str = "completed", timeout: float = 90) -> float:
    """Waits for the group's status; returns the time waited."""
    from proving.models import JobGroup

    t0 = time.monotonic()

    def reached():
        group = JobGroup.objects.get(pk=group_id)
        if status == "completed":
            assert group.status != JobGroup.Status.FAILED, group.error
        return group.status == status

    wait_until(reached, timeout=timeout, interval=0.2, what=f"group {group_id[:8]} to be {status}")
    return time.monotonic() - t0


def running_job(group_id: str | None = None):
    from proving.models import Job

    qs = Job.objects.filter(status=Job.Status.RUNNING)
    if group_id:
        qs = qs.filter(group_id=group_id)
    return qs.first()


def wait_prover_started(job_id: int, timeout: float = 30) -> None:
    from tests.chaos.fault_prover import invocations

    wait_until(
        lambda: any(l.startswith("start") for l in invocations(str(job_id))),
        timeout=timeout,
        interval=0.05,
        what=f"the prover to start job {job_id}",
    )


def python_subprocess_env(worker_env: dict, **extra) -> dict:
    env = dict(worker_env, **CHAOS_ENV)
    env.update(extra)
    env["PYTHONPATH"] = str(REPO)
    return env


PYTHON = sys.executable


def _peek(self, name: str) -> list[dict]:
    """Reads up to 10 messages and makes them visible again at once."""
    msgs = self.client.receive_message(
        QueueUrl=self.urls[name], MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
    ).get("Messages", [])
    for msg in msgs:
        self.client.change_message_visibility(
            QueueUrl=self.urls[name], ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0
        )
    return msgs


Queues.peek = _peek
