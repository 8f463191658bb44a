"""SQS queue provisioning: every work queue gets its dead-letter queue and attributes.

kombu only applies its visibility timeout to queues it creates itself, and never a
redrive policy, so the queues are created here, before any worker starts.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache

import boto3
from botocore.config import Config
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

DLQ_SUFFIX = "-dlq"
# Stated explicitly (docs/reliability.md): emulators and newer AWS queues default to 1 MiB,
# older queues to 256 KiB. Task messages carry ids only and stay far below either.
MAXIMUM_MESSAGE_SIZE = 256 * 1024


@lru_cache(maxsize=1)
def sqs_client():
    # Bounded timeouts: a broker outage must surface as an error, never as a hang.
    config = Config(connect_timeout=3, read_timeout=25, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("sqs", region_name=settings.SQS_REGION, config=config)


def queue_name(name: str) -> str:
    return f"{settings.SQS_QUEUE_PREFIX}{name}"


def ensure_queues() -> dict[str, str]:
    """Create (or update) each work queue and its DLQ; returns name -> URL."""
    client = sqs_client()
    urls: dict[str, str] = {}
    for name in settings.WORK_QUEUES:
        dlq_url = client.create_queue(
            QueueName=queue_name(name + DLQ_SUFFIX),
            Attributes={"MessageRetentionPeriod": str(14 * 86400)},
        )["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {
            "VisibilityTimeout": str(settings.SQS_VISIBILITY_TIMEOUT),
            "MessageRetentionPeriod": str(4 * 86400),
            "MaximumMessageSize": str(MAXIMUM_MESSAGE_SIZE),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.SQS_MAX_RECEIVE_COUNT)}
            ),
        }
        url = client.create_queue(QueueName=queue_name(name))["QueueUrl"]
        # create_queue refuses changed attributes on an existing queue; set them explicitly.
        client.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        urls[name] = url
        urls[name + DLQ_SUFFIX] = dlq_url
    return urls


def delete_queues() -> None:
    client = sqs_client()
    for url in client.list_queues(QueueNamePrefix=settings.SQS_QUEUE_PREFIX).get("QueueUrls", []):
        client.delete_queue(QueueUrl=url)


# How SQS (and moto) name a queue that is not there: a broker restarted without its state.
QUEUE_MISSING_MARKERS = ("NonExistentQueue", "QueueDoesNotExist")


def is_queue_missing(error: BaseException) -> bool:
    """Whether an error (or one it was raised from) says a queue does not exist."""
    seen = 0
    exc: BaseException | None = error
    while exc is not None and seen < 10:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "") if hasattr(exc, "response") else ""
        text = f"{exc.__class__.__name__} {code} {exc}"
        if any(marker in text for marker in QUEUE_MISSING_MARKERS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def missing_queues() -> list[str]:
    """The work queues and dead-letter queues that are not there, or not provisioned (a work
    queue without its redrive policy: kombu creates a bare queue when it publishes to a
    missing one). Raises if SQS does not answer."""
    client = sqs_client()
    missing = []
    for name in settings.WORK_QUEUES:
        for full in (name, name + DLQ_SUFFIX):
            try:
                url = client.get_queue_url(QueueName=queue_name(full))["QueueUrl"]
                if full == name:
                    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
                    if "RedrivePolicy" not in attributes.get("Attributes", {}):
                        missing.append(full)
            except Exception as exc:
                if not is_queue_missing(exc):
                    raise
                missing.append(full)
    return missing


def heal_queues() -> list[str]:
    """Recreates the queues (with their dead-letter queues) if any is gone; returns what was missing."""
    missing = missing_queues()
    if missing:
        logger.warning("SQS queues missing (broker state lost?): %s; creating them again", ", ".join(missing))
        ensure_queues()
    return missing


def queue_waiting_messages(name: str) -> int | None:
    """Messages waiting (visible) in a work queue; 0 for a queue that was gone (it is created
    again, empty); None when SQS does not answer."""
    client = sqs_client()
    try:
        url = client.get_queue_url(QueueName=queue_name(name))["QueueUrl"]
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    except Exception as exc:
        if not is_queue_missing(exc):
            logger.warning("could not read the depth of queue %s: %s", name, exc.__class__.__name__)
            return None
    try:
        heal_queues()
    except Exception as exc:  # SQS answers only in part: try again at the next look
        logger.warning("could not create the missing queues: %s", exc.__class__.__name__)
        return None
    return 0


def publish(task_name: str, *args: object) -> bool:
    """Sends a task by its name (ids only; routed by settings.CELERY_TASK_ROUTES). A broker
    outage is logged, not raised: every message has a row behind it in Postgres, and the
    reconciler re-sends what could not be sent. A queue lost with the broker's state is
    created again and the send tried once more. Callers use fossil.dispatch's names."""
    from celery_app import app  # Celery loads only in processes that publish (not `manage.py price`)

    try:
        app.send_task(task_name, args=list(args))
        return True
    except Exception as exc:  # any publish failure: the database state stays the source of truth
        if is_queue_missing(exc):
            try:
                heal_queues()
                app.send_task(task_name, args=list(args))
                return True
            except Exception:
                pass
        logger.exception("could not queue %s%s; the reconciler re-sends it", task_name, args)
        return False


def publish_on_commit(task_name: str, *args: object) -> None:
    """Publishes once the current transaction commits, so no worker reads a row that isn't there."""
    transaction.on_commit(lambda: publish(task_name, *args))
