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


def publish(task_name: str, *args: object) -> bool:
    """Sends a task by its name (ids only; routed by settings.CELERY_TASK_ROUTES). A broker
    outage is logged, not raised: every message has a row behind it in Postgres, and the
    reconciler re-sends what could not be sent. Callers use fossil.dispatch's names."""
    from celery_app import app  # Celery loads only in processes that publish (not `manage.py price`)

    try:
        app.send_task(task_name, args=list(args))
        return True
    except Exception:  # any publish failure: the database state stays the source of truth
        logger.exception("could not queue %s%s; the reconciler re-sends it", task_name, args)
        return False


def publish_on_commit(task_name: str, *args: object) -> None:
    """Publishes once the current transaction commits, so no worker reads a row that isn't there."""
    transaction.on_commit(lambda: publish(task_name, *args))
