"""Short SQS visibility, extended while a worker holds the message (docs/reliability.md).

The queues' visibility timeout is short (SQS_VISIBILITY_TIMEOUT, a minute by default), so
the messages of a worker machine that dies (kill -9, lost host) are visible again within
about a minute. A live worker keeps what it holds, however long a proof runs or a retry
countdown waits: every SQS_VISIBILITY_HEARTBEAT_SECONDS this thread, in the worker's main
process (the one that receives and acknowledges), pushes the visibility of every message it
has received and not yet acknowledged (running, prefetched, or held for its ETA) another
timeout ahead. Nothing runs twice either way: a message that comes back while its job is
still running finds the job leased (proving.jobs.job_claim).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

from celery.signals import task_received, worker_ready, worker_shutdown
from django.conf import settings
from kombu.message import Message

from fossil.queues import sqs_client

logger = logging.getLogger(__name__)

# SQS takes at most ten entries per ChangeMessageVisibilityBatch call.
SQS_BATCH = 10

_held: dict[str, Message] = {}  # task id -> kombu message, received and not yet acknowledged
_held_lock = threading.Lock()


@task_received.connect
def hold(request=None, **_kwargs) -> None:
    message = getattr(request, "message", None)
    if message is not None and "sqs_queue" in (getattr(message, "delivery_info", None) or {}):
        with _held_lock:
            _held[request.id] = message


def held_messages() -> list[tuple[str, str]]:
    """(queue URL, receipt handle) of every held message; forgets the acknowledged ones."""
    with _held_lock:
        for task_id in [task_id for task_id, message in _held.items() if message.acknowledged]:
            del _held[task_id]
        return [(message.delivery_info["sqs_queue"], str(message.delivery_tag)) for message in _held.values()]


def extend_visibility(entries: list[tuple[str, str]], seconds: int) -> int:
    """Makes these messages invisible for `seconds` from now; returns how many SQS took."""
    by_queue: dict[str, list[str]] = defaultdict(list)
    for queue_url, receipt in entries:
        by_queue[queue_url].append(receipt)
    extended = 0
    client = sqs_client()
    for queue_url, receipts in by_queue.items():
        for start in range(0, len(receipts), SQS_BATCH):
            batch = [
                {"Id": str(n), "ReceiptHandle": receipt, "VisibilityTimeout": seconds}
                for n, receipt in enumerate(receipts[start : start + SQS_BATCH])
            ]
            answer = client.change_message_visibility_batch(QueueUrl=queue_url, Entries=batch)
            extended += len(answer.get("Successful", []))
            for failure in answer.get("Failed", []):  # deleted meanwhile (acknowledged): nothing to keep
                logger.debug("visibility heartbeat: %s", failure.get("Code"))
    return extended


class VisibilityHeartbeat(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="fossil-visibility-heartbeat", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(settings.SQS_VISIBILITY_HEARTBEAT_SECONDS):
            try:
                extend_visibility(held_messages(), settings.SQS_VISIBILITY_TIMEOUT)
            except Exception as exc:  # SQS unreachable: the next beat tries again, well within the timeout
                logger.warning("visibility heartbeat failed: %s: %s", exc.__class__.__name__, exc)


_heartbeats: list[VisibilityHeartbeat] = []


@worker_ready.connect
def start_visibility_heartbeat(**_kwargs) -> None:
    if settings.CELERY_BROKER_URL.startswith("sqs") and not _heartbeats:
        _heartbeats.append(VisibilityHeartbeat())
        _heartbeats[0].start()


@worker_shutdown.connect
def stop_visibility_heartbeat(**_kwargs) -> None:
    # Not stopped before the warm shutdown ends: the proofs that are finishing keep their messages.
    for heartbeat in _heartbeats:
        heartbeat.stopped.set()
