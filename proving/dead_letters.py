"""Dead-letter queues (`<prefix><queue>-dlq`): depth, inspection and requeueing.

Used by `manage.py dead_letters` and by the operator console. Reading a message makes it
invisible for a moment; whatever is only looked at is released again at once. A message
that is not a Celery message (garbage, foreign JSON) would only go back to the DLQ if
requeued, so requeueing skips those unless asked to move everything.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass

from django.conf import settings

from fossil.exceptions import ApplicationError
from fossil.queues import DLQ_SUFFIX, queue_name, sqs_client

logger = logging.getLogger(__name__)


def describe(body: str) -> dict:
    """Best-effort decoding of a kombu SQS body: task name, args, or why it is not one."""
    try:
        raw = base64.b64decode(body, validate=True).decode()
    except Exception:
        raw = body
    try:
        envelope = json.loads(raw)
    except ValueError:
        return {"kind": "undecodable", "preview": body[:80]}
    if not isinstance(envelope, dict) or "headers" not in envelope:
        return {"kind": "not-celery", "preview": raw[:80]}
    headers = envelope.get("headers") or {}
    args = None
    try:
        inner = envelope.get("body", "")
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            inner = base64.b64decode(inner).decode()
        args = json.loads(inner)[0]
    except Exception:
        pass
    return {"kind": "celery", "task": headers.get("task"), "id": headers.get("id"), "args": args}


def check_queue(name: str) -> None:
    if name not in settings.WORK_QUEUES:
        raise ApplicationError(f"unknown queue {name!r}; one of {', '.join(settings.WORK_QUEUES)}", code="invalid")


def queue_url(name: str) -> str:
    return sqs_client().get_queue_url(QueueName=queue_name(name))["QueueUrl"]


def queue_depth(url: str) -> tuple[int, int]:
    """(visible, in flight) messages of one queue."""
    attrs = sqs_client().get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


@dataclass(frozen=True)
class QueueDepths:
    queue: str
    waiting: int
    in_flight: int
    dead: int
    dead_in_flight: int


def queue_depths(queues=None) -> list[QueueDepths]:
    """Each work queue's depth and its DLQ's: a handful of SQS calls, bounded."""
    depths = []
    for name in queues or settings.WORK_QUEUES:
        check_queue(name)
        waiting, in_flight = queue_depth(queue_url(name))
        dead, dead_in_flight = queue_depth(queue_url(name + DLQ_SUFFIX))
        depths.append(QueueDepths(name, waiting, in_flight, dead, dead_in_flight))
    return depths


def receive(url: str, limit: int, visibility: int = 30) -> list[dict]:
    client = sqs_client()
    taken: list[dict] = []
    while len(taken) < limit:
        msgs = client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit - len(taken)),
            WaitTimeSeconds=0,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not msgs:
            break
        taken += msgs
    return taken


def release(url: str, message: dict) -> None:
    sqs_client().change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


def dead_letters_peek(name: str, *, limit: int = 100) -> list[dict]:
    """Summaries of up to `limit` dead letters of a queue; each is released again at once."""
    check_queue(name)
    url = queue_url(name + DLQ_SUFFIX)
    summaries = []
    for msg in receive(url, limit):
        summaries.append(
            {
                "message_id": msg["MessageId"],
                "receives": msg.get("Attributes", {}).get("ApproximateReceiveCount", "?"),
                **describe(msg["Body"]),
            }
        )
        release(url, msg)
    return summaries


@dataclass(frozen=True)
class RequeueResult:
    queue: str
    moved: int
    skipped: int


def dead_letters_requeue(name: str, *, limit: int = 100, everything: bool = False) -> RequeueResult:
    """Moves up to `limit` dead letters back to their work queue (send first, delete second:
    a crash in between duplicates a message, which the job's claim absorbs, never loses one)."""
    check_queue(name)
    client = sqs_client()
    dlq_url, work_url = queue_url(name + DLQ_SUFFIX), queue_url(name)
    moved = skipped = 0
    for msg in receive(dlq_url, limit):
        if not everything and describe(msg["Body"])["kind"] != "celery":
            release(dlq_url, msg)
            skipped += 1
            continue
        client.send_message(QueueUrl=work_url, MessageBody=msg["Body"])
        client.delete_message(QueueUrl=dlq_url, ReceiptHandle=msg["ReceiptHandle"])
        moved += 1
    logger.info("requeued %s dead letter(s) to %s; skipped %s non-Celery", moved, queue_name(name), skipped)
    return RequeueResult(name, moved, skipped)


def dead_letters_purge(name: str) -> int:
    """Deletes every message of a queue's DLQ for good; returns how many."""
    check_queue(name)
    client = sqs_client()
    url = queue_url(name + DLQ_SUFFIX)
    deleted = 0
    while True:
        msgs = receive(url, 10)
        if not msgs:
            return deleted
        for msg in msgs:
            client.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
            deleted += 1
