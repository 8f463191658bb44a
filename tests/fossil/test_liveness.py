from __future__ import annotations

import os
import time
import uuid

import pytest
from django.core.management import call_command

from fossil.liveness import touch_heartbeat


@pytest.fixture
def own_queues(settings):
    """Queues of this test alone: other tests leave messages on the session's queues."""
    from fossil.queues import delete_queues, ensure_queues

    settings.SQS_QUEUE_PREFIX = f"live{uuid.uuid4().hex[:8]}-"
    urls = ensure_queues()
    yield urls
    delete_queues()


@pytest.fixture
def heartbeat(settings, tmp_path):
    settings.WORKER_HEARTBEAT_FILE = str(tmp_path / "worker.heartbeat")
    return tmp_path / "worker.heartbeat"


def age(path, seconds):
    past = time.time() - seconds
    os.utime(path, (past, past))


def probe(capsys, *args):
    try:
        call_command("check_worker_liveness", *args)
    except SystemExit as exc:
        return exc.code, capsys.readouterr().err
    return 0, capsys.readouterr().out


def test_a_worker_that_never_started_is_not_live(heartbeat, capsys):
    code, message = probe(capsys)
    assert code == 1 and "no heartbeat file" in message


def test_recent_heartbeat_is_live_and_idle_queues_are_fine(heartbeat, own_queues, capsys):
    touch_heartbeat()
    assert probe(capsys, "--stall-seconds", "5")[0] == 0
    age(heartbeat, 600)
    assert probe(capsys, "--stall-seconds", "5") == (0, "worker live\n")  # nothing waits: idle, not stalled


def test_waiting_work_and_an_old_heartbeat_is_a_stall(heartbeat, own_queues, capsys):
    from fossil.queues import sqs_client

    touch_heartbeat()
    age(heartbeat, 600)
    sqs_client().send_message(QueueUrl=own_queues["housekeeping"], MessageBody="work")
    code, message = probe(capsys, "--stall-seconds", "5")
    assert code == 1 and "1 message(s) waiting but nothing received" in message


def test_a_lost_work_queue_is_not_live(heartbeat, own_queues, capsys):
    from fossil.queues import sqs_client

    touch_heartbeat()
    sqs_client().delete_queue(QueueUrl=own_queues["proofs"])
    code, message = probe(capsys, "--stall-seconds", "5")
    assert code == 1 and "a work queue does not exist" in message
