from fossil.commands import FAILED, FossilCommand
from proving.models import Job
from proving.runner import job_run_logged
from proving.services import job_replay, jobs_dispatch


class Command(FossilCommand):
    help = "Run a failed or pending job again through the task's own code path."

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int)
        parser.add_argument("--sync", action="store_true", help="run it here instead of queueing it")

    def handle(self, *args, job_id, sync, **options):
        job_replay(job_id=job_id)  # a refusal (unknown, running, succeeded): exit 2 (FossilCommand)
        if not sync:
            jobs_dispatch([job_id])
            self.stdout.write(f"job {job_id}: queued")
            return
        # the task's own run, log line and metrics (proving.runner.job_run_logged)
        outcome = job_run_logged(job_id=job_id)
        self.stdout.write(f"job {job_id}: {outcome.status}")
        if outcome.status != "succeeded":
            job = Job.objects.get(pk=job_id)
            reason = job.error_code or "no error code"
            self.fail(f"job {job_id} did not succeed ({outcome.status}): {reason}", status=FAILED)
