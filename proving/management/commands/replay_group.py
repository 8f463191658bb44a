from fossil.commands import FAILED, FossilCommand
from proving.runner import job_run_logged
from proving.services import job_group_rerun


class Command(FossilCommand):
    help = "Run a job group's unfinished jobs again through the task's own code path."

    def add_arguments(self, parser):
        parser.add_argument("group_id")
        parser.add_argument("--sync", action="store_true", help="run the jobs here instead of queueing them")

    def handle(self, *args, group_id, sync, **options):
        # a refusal (unknown group, not failed): exit 2 (FossilCommand)
        job_ids = job_group_rerun(group_id=group_id, dispatch=not sync)
        unsuccessful = []
        for job_id in job_ids:
            # --sync: the task's own run, log line and metrics (proving.runner.job_run_logged)
            status = job_run_logged(job_id=job_id).status if sync else "queued"
            self.stdout.write(f"job {job_id}: {status}")
            if sync and status != "succeeded":
                unsuccessful.append(job_id)
        self.stdout.write(f"group {group_id}: {len(job_ids)} job(s) replayed")
        if unsuccessful:
            self.fail(f"{len(unsuccessful)} job(s) did not succeed: {unsuccessful}", status=FAILED)
