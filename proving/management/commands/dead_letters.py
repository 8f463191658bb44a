"""Inspect and act on the dead-letter queues (`<prefix><queue>-dlq`).

    manage.py dead_letters list                      counts per DLQ (and the work queues' depth)
    manage.py dead_letters show [QUEUE] [--limit N]  message summaries: task, args, receive count
    manage.py dead_letters requeue QUEUE [--limit N] move messages back to their work queue
    manage.py dead_letters purge QUEUE [--yes]       delete every message of QUEUE's DLQ

QUEUE is a work queue name (proofs, results, default). Reading a message makes it invisible
for a moment; `show` releases each one again at once. A message that is not a Celery
message (garbage, foreign JSON) is shown as such; requeueing it would only send it back to
the DLQ, so `requeue` skips those unless --all is given.
"""
from __future__ import annotations

import base64
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fossil.queues import DLQ_SUFFIX, queue_name, sqs_client


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


class Command(BaseCommand):
    help = "List, show, requeue or purge messages on the SQS dead-letter queues."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "show", "requeue", "purge"])
        parser.add_argument("queue", nargs="?", help="work queue name: " + ", ".join(settings.WORK_QUEUES))
        parser.add_argument("--limit", type=int, default=100)
        parser.add_argument("--all", action="store_true", help="requeue non-Celery messages too")
        parser.add_argument("--yes", action="store_true", help="purge without asking")

    def handle(self, *args, action, queue, limit, all, yes, **options):
        self.client = sqs_client()
        queues = [queue] if queue else list(settings.WORK_QUEUES)
        for name in queues:
            if name not in settings.WORK_QUEUES:
                raise CommandError(f"unknown queue {name!r}; one of {', '.join(settings.WORK_QUEUES)}")
        if action in ("requeue", "purge") and not queue:
            raise CommandError(f"{action} needs a QUEUE")
        getattr(self, f"do_{action}")(queues, limit=limit, everything=all, yes=yes)

    def url(self, name: str) -> str:
        return self.client.get_queue_url(QueueName=queue_name(name))["QueueUrl"]

    def depth(self, url: str) -> tuple[int, int]:
        attrs = self.client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def receive(self, url: str, limit: int, visibility: int = 30):
        taken: list[dict] = []
        while len(taken) < limit:
            msgs = self.client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(taken)), WaitTimeSeconds=0,
                VisibilityTimeout=visibility, AttributeNames=["All"],
            ).get("Messages", [])
            if not msgs:
                break
            taken += msgs
        return taken

    def do_list(self, queues, **_):
        total = 0
        for name in queues:
            visible, in_flight = self.depth(self.url(name + DLQ_SUFFIX))
            work_visible, work_in_flight = self.depth(self.url(name))
            total += visible + in_flight
            self.stdout.write(
                f"{queue_name(name + DLQ_SUFFIX)}: {visible} dead ({in_flight} being read); "
                f"{queue_name(name)}: {work_visible} waiting, {work_in_flight} in flight"
            )
        self.stdout.write(f"total dead letters: {total}")

    def do_show(self, queues, *, limit, **_):
        for name in queues:
            url = self.url(name + DLQ_SUFFIX)
            msgs = self.receive(url, limit)
            self.stdout.write(f"{queue_name(name + DLQ_SUFFIX)}: {len(msgs)} shown")
            for msg in msgs:
                info = describe(msg["Body"])
                count = msg.get("Attributes", {}).get("ApproximateReceiveCount", "?")
                self.stdout.write(f"  {msg['MessageId']} receives={count} {json.dumps(info, default=str)}")
                self.client.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)

    def do_requeue(self, queues, *, limit, everything, **_):
        name = queues[0]
        dlq_url, work_url = self.url(name + DLQ_SUFFIX), self.url(name)
        moved = skipped = 0
        for msg in self.receive(dlq_url, limit):
            if not everything and describe(msg["Body"])["kind"] != "celery":
                self.client.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)
                skipped += 1
                continue
            # send first, delete second: a crash in between duplicates (harmless), never loses
            self.client.send_message(QueueUrl=work_url, MessageBody=msg["Body"])
            self.client.delete_message(QueueUrl=dlq_url, ReceiptHandle=msg["ReceiptHandle"])
            moved += 1
        self.stdout.write(f"requeued {moved} message(s) to {queue_name(name)}; skipped {skipped} non-Celery")

    def do_purge(self, queues, *, yes, **_):
        name = queues[0]
        if not yes:
            raise CommandError("purge deletes messages for good; pass --yes")
        url = self.url(name + DLQ_SUFFIX)
        deleted = 0
        while True:
            msgs = self.receive(url, 10)
            if not msgs:
                break
            for msg in msgs:
                self.client.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
                deleted += 1
        self.stdout.write(f"deleted {deleted} message(s) from {queue_name(name + DLQ_SUFFIX)}")
