import sys

from django.core.management.base import BaseCommand

from fossil.exceptions import ApplicationError
from proving.models import Job
from proving.runner import job_run
from proving.services import job_replay, jobs_dispatch


class Command(BaseCommand):
    help = "Run a failed or pending job again through the task's own code path."

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int)
        parser.add_argument("--sync", action="store_true", help="run it here instead of queueing it")

    def handle(self, *args, job_id, sync, **options):
        try:
            job_replay(job_id=job_id)
        except ApplicationError as exc:
            sys.stderr.write(f"replay_job: {exc.message}\n")
            sys.exit(2)
        if sync:
            outcome = job_run(job_id=job_id)
            self.stdout.write(f"job {job_id}: {outcome.status}")
            if outcome.status != "succeeded":
                job = Job.objects.get(pk=job_id)
                reason = job.error_code or "no error code"
                sys.stderr.write(f"replay_job: job {job_id} did not succeed ({outcome.status}): {reason}\n")
                sys.exit(1)
        else:
            jobs_dispatch([job_id])
            self.stdout.write(f"job {job_id}: queued")
