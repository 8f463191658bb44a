"""Worker liveness beyond "the process is up".

kombu 5.7's SQS consumer can stop polling for good after a broker outage (an error in
its timer; docs/reliability.md) while the worker process stays alive. A worker touches its
heartbeat file whenever it receives or finishes a task; the liveness probe
(`manage.py check_worker_liveness`) fails when work is waiting on the queues but the
worker has not touched its file for longer than any task may run.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from celery.signals import beat_init, task_postrun, task_received, worker_ready
from celery.worker import state as worker_state
from django.conf import settings

from fossil.queues import heal_queues, is_queue_missing, queue_name, queue_waiting_messages, sqs_client

logger = logging.getLogger(__name__)


def heartbeat_path() -> Path:
    return Path(settings.WORKER_HEARTBEAT_FILE)


@worker_ready.connect
@task_received.connect
@task_postrun.connect
def touch_heartbeat(**_kwargs) -> None:
    path = heartbeat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def waiting_messages() -> int:
    client = sqs_client()
    total = 0
    for name in settings.WORK_QUEUES:
        url = client.get_queue_url(QueueName=queue_name(name))["QueueUrl"]
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        total += int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return total


def stall_reason(stall_seconds: float) -> str | None:
    """Why the worker counts as stalled, or None if it is live."""
    path = heartbeat_path()
    if not path.exists():
        return f"no heartbeat file at {path} (worker never became ready)"
    try:
        waiting = waiting_messages()
    except Exception as exc:
        if is_queue_missing(exc):  # nothing can be received from a queue that is gone
            return "a work queue does not exist (SQS lost its state?); the worker's watchdog creates it again"
        raise
    idle = time.time() - path.stat().st_mtime
    if idle <= stall_seconds:
        return None
    if waiting == 0:
        return None
    return f"{waiting} message(s) waiting but nothing received for {idle:.0f}s (limit {stall_seconds:.0f}s)"


# --- In-process watchdog ---------------------------------------------------------------
# The probe above needs an orchestrator to act on it; the watchdog below lets a worker (and
# beat) repair what it can by itself: it creates lost queues again, and it stops a worker
# whose consumer stalled with a non-zero exit, for its supervisor (make run, the container
# runtime) to start it again.

EXIT_CONSUMER_STALLED = 3
_last_received: dict[str, float] = {}  # queue -> monotonic time of its last receipt
_started = [time.monotonic()]


@worker_ready.connect
def note_start(**_kwargs) -> None:
    _started[0] = time.monotonic()
    _last_received.clear()


@task_received.connect
def note_receipt(request=None, **_kwargs) -> None:
    queue = ((getattr(request, "delivery_info", None) or {}).get("routing_key")) or "*"
    _last_received[queue] = time.monotonic()


def seconds_since_receipt(queue: str) -> float:
    last = max(_last_received.get(queue, 0.0), _last_received.get("*", 0.0), _started[0])
    return time.monotonic() - last


def consumer_stall_reason(queues: list[str], stall_seconds: float, *, busy: int, concurrency: int) -> str | None:
    """Why this worker's consumer counts as stalled, or None.

    Stalled: work waits on a queue it consumes, it has received nothing from that queue for
    stall_seconds, and a pool process is free to take it (a polling worker with a free
    process takes a waiting message within a second or two). An unanswering SQS is not a
    stall: not this worker's to fix.
    """
    if busy >= concurrency:
        return None
    for name in queues:
        idle = seconds_since_receipt(name)
        if idle <= stall_seconds:
            continue
        waiting = queue_waiting_messages(name)
        if waiting:
            return f"{waiting} message(s) waiting on {name} but nothing received from it for {idle:.0f}s"
    return None


class Watchdog(threading.Thread):
    """Every WATCHDOG_INTERVAL_SECONDS: creates missing queues again; in a worker, also
    stops the worker (exit code 3) once its consumer has stalled at two looks in a row."""

    def __init__(self, queues: list[str], *, on_stall=None, concurrency: int = 1):
        super().__init__(name="fossil-watchdog", daemon=True)
        self.queues = queues
        self.concurrency = concurrency
        self.on_stall = on_stall
        self.stopped = threading.Event()
        self.stalled_looks = 0

    def run(self) -> None:
        while not self.stopped.wait(settings.WATCHDOG_INTERVAL_SECONDS):
            try:
                self.look()
            except Exception as exc:  # SQS unreachable and the like: look again later
                logger.warning("watchdog: %s: %s", exc.__class__.__name__, exc)

    def look(self) -> str | None:
        if heal_queues():
            note_start()  # fresh queues: give the consumer a full stall period
            self.stalled_looks = 0
            return None
        if self.on_stall is None:
            return None
        reason = consumer_stall_reason(
            self.queues,
            settings.WORKER_STALL_SECONDS,
            busy=len(worker_state.active_requests),
            concurrency=self.concurrency,
        )
        self.stalled_looks = self.stalled_looks + 1 if reason else 0
        if reason and self.stalled_looks >= 2:
            logger.error(
                "watchdog: consumer stalled (%s); stopping the worker (exit %s) to be restarted",
                reason,
                EXIT_CONSUMER_STALLED,
            )
            self.on_stall()
        return reason


def stop_worker_for_restart() -> None:
    """Warm shutdown with a non-zero exit: the consumer loop checks this flag every turn."""
    worker_state.should_stop = EXIT_CONSUMER_STALLED  # type: ignore[assignment]  # celery declares it None


_watchdogs: list[Watchdog] = []


@worker_ready.connect
def start_worker_watchdog(sender=None, **_kwargs) -> None:
    if not settings.WATCHDOG_INTERVAL_SECONDS or _watchdogs:  # one per process (the consumer may restart)
        return
    try:
        consumed = [queue.name for queue in sender.task_consumer.queues]
    except AttributeError:
        consumed = list(settings.WORK_QUEUES)
    queues = [name for name in settings.WORK_QUEUES if name in consumed] or list(settings.WORK_QUEUES)
    pool_size = getattr(getattr(sender, "pool", None), "num_processes", None)
    concurrency = pool_size or sender.app.conf.worker_concurrency or 1
    _watchdogs.append(Watchdog(queues, on_stall=stop_worker_for_restart, concurrency=concurrency))
    _watchdogs[0].start()


@beat_init.connect
def start_beat_watchdog(**_kwargs) -> None:
    if settings.WATCHDOG_INTERVAL_SECONDS and not _watchdogs:
        _watchdogs.append(Watchdog(list(settings.WORK_QUEUES)))
        _watchdogs[0].start()
