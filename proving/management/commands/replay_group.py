import sys

from django.core.management.base import BaseCommand

from fossil.exceptions import ApplicationError
from proving.runner import job_run
from proving.services import job_group_rerun


class Command(BaseCommand):
    help = "Run a job group's unfinished jobs again through the task's own code path."

    def add_arguments(self, parser):
        parser.add_argument("group_id")
        parser.add_argument("--sync", action="store_true", help="run the jobs here instead of queueing them")

    def handle(self, *args, group_id, sync, **options):
        try:
            job_ids = job_group_rerun(group_id=group_id, dispatch=not sync)
        except ApplicationError as exc:
            sys.stderr.write(f"replay_group: {exc.message}\n")
            sys.exit(2)
        unsuccessful = []
        for job_id in job_ids:
            status = job_run(job_id=job_id).status if sync else "queued"
            self.stdout.write(f"job {job_id}: {status}")
            if sync and status != "succeeded":
                unsuccessful.append(job_id)
        self.stdout.write(f"group {group_id}: {len(job_ids)} job(s) replayed")
        if unsuccessful:
            sys.stderr.write(f"replay_group: {len(unsuccessful)} job(s) did not succeed: {unsuccessful}\n")
            sys.exit(1)
