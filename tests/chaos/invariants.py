"""The invariant check run after every chaos scenario (docs/reliability.md)."""

from __future__ import annotations

import time
from collections import Counter

from django.db.models import Count

from tests.conftest import wait_until

WORK_QUEUES = ("proofs", "outcomes", "housekeeping")


def check_invariants(
    sqs,
    *,
    groups: list[str] | None = None,
    expect_jobs: dict[int, str] | None = None,
    expect_group: dict[str, str] | None = None,
    dlq: dict[str, int] | None = None,
    queue_timeout: float = 60,
    executions_equal_attempts: bool = False,
) -> dict:
    """Asserts, for the given groups (all groups when None):

    1. no job lost: every job is terminal (or in the state `expect_jobs` names);
       every group is terminal (or as `expect_group` says) and a finished group was notified;
    2. at most one proof per job; a succeeded job has exactly one, a failed job none;
    3. attempts <= max_attempts; prover executions (fault-prover markers) <= attempts
       (== when executions_equal_attempts);
    4. work queues drained (visible + in flight + delayed == 0) within queue_timeout;
    5. dead-letter queues hold exactly `dlq` messages (default: none).

    Returns {"dlq": {name: [bodies]}} for scenario-specific assertions.
    """
    from proving.models import Job, JobGroup, Proof
    from tests.chaos.fault_prover import invocations

    expect_jobs = expect_jobs or {}
    expect_group = expect_group or {}
    scope = Job.objects.all() if groups is None else Job.objects.filter(group_id__in=groups)

    def settled_jobs():
        # a group can fail while its other jobs still run: give them time to finish
        current = list(scope.order_by("pk"))
        return (
            all(
                job.status == expect_jobs.get(job.pk, job.status)
                if job.pk in expect_jobs
                else job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED)
                for job in current
            )
            and current
        )

    try:
        wait_until(settled_jobs, timeout=30, interval=0.2, what="every job to be terminal")
    except AssertionError:
        pass  # reported job by job below
    jobs = list(scope.order_by("pk"))
    assert jobs, "no jobs to check"

    proofs = Counter(dict(Proof.objects.filter(job__in=jobs).values_list("job_id").annotate(n=Count("id"))))
    for job in jobs:
        want = expect_jobs.get(job.pk)
        if want:
            assert job.status == want, f"job {job.pk} is {job.status}, expected {want}"
        else:
            assert job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED), f"job {job.pk} lost: {job.status}"
        assert proofs[job.pk] <= 1, f"job {job.pk} has {proofs[job.pk]} proofs"
        if job.status == Job.Status.SUCCEEDED:
            assert proofs[job.pk] == 1, f"succeeded job {job.pk} has no proof"
        if job.status == Job.Status.FAILED:
            assert proofs[job.pk] == 0 and job.error_code, f"failed job {job.pk}: no reason or a proof"
        assert job.attempts <= job.max_attempts, f"job {job.pk}: {job.attempts} > {job.max_attempts} attempts"
        executions = sum(1 for line in invocations(str(job.pk)) if line.startswith("start"))
        assert executions <= job.attempts, f"job {job.pk}: {executions} prover runs but {job.attempts} attempts"
        if executions_equal_attempts:
            assert executions == job.attempts, f"job {job.pk}: {executions} prover runs, {job.attempts} attempts"

    group_ids = sorted({job.group_id for job in jobs})
    for group_id in group_ids:
        want = expect_group.get(group_id)

        def settled():
            group = JobGroup.objects.get(pk=group_id)
            if want:
                return group.status == want and (want == "running" or group.notified_at is not None)
            return group.status != JobGroup.Status.RUNNING and group.notified_at is not None

        wait_until(settled, timeout=30, what=f"group {group_id[:8]} settled and notified")

    def drained():
        return all(sqs.depth(name) == 0 for name in WORK_QUEUES)

    t0 = time.monotonic()
    wait_until(drained, timeout=queue_timeout, interval=0.5, what="work queues to drain")
    drain_s = time.monotonic() - t0

    expected_dlq = {name: 0 for name in WORK_QUEUES}
    expected_dlq.update(dlq or {})
    contents = {}
    for name, count in expected_dlq.items():
        got = sqs.depth(f"{name}-dlq")
        assert got == count, f"{name}-dlq holds {got} messages, expected {count}"
        contents[name] = sqs.peek(f"{name}-dlq") if count else []
    return {"dlq": contents, "drain_s": drain_s}
