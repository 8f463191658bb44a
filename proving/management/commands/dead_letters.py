"""Inspect and act on the dead-letter queues (`<prefix><queue>-dlq`).

    manage.py dead_letters list                      counts per DLQ (and the work queues' depth)
    manage.py dead_letters show [QUEUE] [--limit N]  message summaries: task, args, receive count
    manage.py dead_letters requeue QUEUE [--limit N] move messages back to their work queue
    manage.py dead_letters purge QUEUE [--yes]       delete every message of QUEUE's DLQ

QUEUE is a work queue name (proofs, results, default). The logic lives in
proving.dead_letters, shared with the operator console.
"""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from fossil.commands import FAILED, FossilCommand
from fossil.queues import DLQ_SUFFIX, queue_name
from proving import dead_letters

describe = dead_letters.describe  # kept importable from here


class Command(FossilCommand):
    help = "List, show, requeue or purge messages on the SQS dead-letter queues."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "show", "requeue", "purge"])
        parser.add_argument("queue", nargs="?", help="work queue name: " + ", ".join(settings.WORK_QUEUES))
        parser.add_argument("--limit", type=int, default=100)
        parser.add_argument("--all", action="store_true", help="requeue non-Celery messages too")
        parser.add_argument("--yes", action="store_true", help="purge without asking")

    def handle(self, *args, action, queue, limit, all, yes, **options):
        queues = [queue] if queue else list(settings.WORK_QUEUES)
        for name in queues:
            if name not in settings.WORK_QUEUES:
                self.fail(f"unknown queue {name!r}; one of {', '.join(settings.WORK_QUEUES)}")
        if action in ("requeue", "purge") and not queue:
            self.fail(f"{action} needs a QUEUE")
        try:
            getattr(self, f"do_{action}")(queues, limit=limit, everything=all, yes=yes)
        except (BotoCoreError, ClientError) as exc:  # the broker is down or refuses: say so in one line
            reason = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
            self.fail(f"the queues cannot be read now ({reason or exc.__class__.__name__})", status=FAILED)

    def do_list(self, queues, **_):
        total = 0
        for depth in dead_letters.queue_depths(queues):
            total += depth.dead + depth.dead_in_flight
            self.stdout.write(
                f"{queue_name(depth.queue + DLQ_SUFFIX)}: {depth.dead} dead ({depth.dead_in_flight} being read); "
                f"{queue_name(depth.queue)}: {depth.waiting} waiting, {depth.in_flight} in flight"
            )
        self.stdout.write(f"total dead letters: {total}")

    def do_show(self, queues, *, limit, **_):
        for name in queues:
            summaries = dead_letters.dead_letters_peek(name, limit=limit)
            self.stdout.write(f"{queue_name(name + DLQ_SUFFIX)}: {len(summaries)} shown")
            for summary in summaries:
                message_id, receives = summary.pop("message_id"), summary.pop("receives")
                self.stdout.write(f"  {message_id} receives={receives} {json.dumps(summary, default=str)}")

    def do_requeue(self, queues, *, limit, everything, **_):
        result = dead_letters.dead_letters_requeue(queues[0], limit=limit, everything=everything)
        self.stdout.write(
            f"requeued {result.moved} message(s) to {queue_name(result.queue)}; skipped {result.skipped} non-Celery"
        )

    def do_purge(self, queues, *, yes, **_):
        if not yes:
            self.fail("purge deletes messages for good; pass --yes")
        deleted = dead_letters.dead_letters_purge(queues[0])
        self.stdout.write(f"deleted {deleted} message(s) from {queue_name(queues[0] + DLQ_SUFFIX)}")
