from django.conf import settings

from fossil.commands import FAILED, FossilCommand
from fossil.liveness import stall_reason


class Command(FossilCommand):
    help = "Liveness probe for a worker: exit 1 if work waits on the queues but the worker stopped taking it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stall-seconds",
            type=float,
            default=None,
            help="how long without receiving a task counts as stalled (default: hard time limit + 60 s)",
        )

    def handle(self, *args, stall_seconds, **options):
        limit = stall_seconds if stall_seconds is not None else settings.PROOF_HARD_TIME_LIMIT + 60
        reason = stall_reason(limit)
        if reason:
            self.fail(f"worker stalled: {reason}", status=FAILED)
        self.stdout.write("worker live")
