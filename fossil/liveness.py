"""Worker liveness beyond "the process is up".

kombu 5.7's SQS consumer can stop polling for good after a broker outage (an error in
its timer; docs/reliability.md) while the worker process stays alive. A worker touches its
heartbeat file whenever it receives or finishes a task; the liveness probe
(`manage.py check_worker_liveness`) fails when work is waiting on the queues but the
worker has not touched its file for longer than any task may run.
"""
from __future__ import annotations

import time
from pathlib import Path

from celery.signals import task_postrun, task_received, worker_ready
from django.conf import settings

from fossil.queues import queue_name, sqs_client


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
    idle = time.time() - path.stat().st_mtime
    if idle <= stall_seconds:
        return None
    waiting = waiting_messages()
    if waiting == 0:
        return None
    return f"{waiting} message(s) waiting but nothing received for {idle:.0f}s (limit {stall_seconds:.0f}s)"
