"""fossil.visibility on real SQS: the heartbeat keeps a held message invisible, and forgets
acknowledged ones."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from fossil import visibility
from fossil.queues import sqs_client


@pytest.fixture
def queue_url(sqs_queues):
    """The housekeeping queue of the session, emptied first."""
    url = sqs_queues["housekeeping"]
    client = sqs_client()
    for _ in range(100):
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages")
        if not messages:
            break
        for message in messages:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return url


def receive(url: str, visibility_timeout: int) -> list[dict]:
    return (
        sqs_client()
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=visibility_timeout)
        .get("Messages", [])
    )


def test_a_held_message_stays_invisible_while_extended_and_returns_once_let_go(queue_url):
    sqs_client().send_message(QueueUrl=queue_url, MessageBody="work")
    [message] = receive(queue_url, visibility_timeout=1)
    assert visibility.extend_visibility([(queue_url, message["ReceiptHandle"])], 60) == 1
    time.sleep(2.5)  # past the 1 s it was received with
    assert receive(queue_url, visibility_timeout=1) == []  # still held
    visibility.extend_visibility([(queue_url, message["ReceiptHandle"])], 0)  # a dead worker's: back now
    assert [m["Body"] for m in receive(queue_url, visibility_timeout=30)] == ["work"]


def test_batches_of_more_than_ten_are_split(queue_url):
    client = sqs_client()
    for n in range(13):
        client.send_message(QueueUrl=queue_url, MessageBody=f"m{n}")
    held = []
    for _ in range(10):
        held += receive(queue_url, visibility_timeout=30)
        if len(held) == 13:
            break
    assert visibility.extend_visibility([(queue_url, m["ReceiptHandle"]) for m in held], 30) == 13


def test_acknowledged_messages_are_forgotten(monkeypatch):
    monkeypatch.setattr(visibility, "_held", {})
    held = SimpleNamespace(acknowledged=False, delivery_info={"sqs_queue": "q"}, delivery_tag="r1")
    done = SimpleNamespace(acknowledged=True, delivery_info={"sqs_queue": "q"}, delivery_tag="r2")
    for task_id, message in (("a", held), ("b", done)):
        visibility.hold(request=SimpleNamespace(id=task_id, message=message))
    visibility.hold(request=SimpleNamespace(id="c", message=SimpleNamespace(delivery_info={})))  # not SQS
    assert visibility.held_messages() == [("q", "r1")]
    assert set(visibility._held) == {"a"}
