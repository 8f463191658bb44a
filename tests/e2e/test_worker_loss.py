"""A worker killed mid-proof loses nothing: the job runs again and completes once."""
from __future__ import annotations

import os
import signal

import pytest
from django.core.management import call_command
from django.db import transaction

from proving import services
from proving.models import Job, JobGroup, Proof
from tests.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

START, END = 1672531200, 1672531200 + 3 * 3600
SLOW_DEV_PROVER = {"PROVER_BACKEND": "dev", "DEV_PROVER_LATENCY_SECONDS": "6"}


@pytest.fixture
def group_id(transactional_db):
    call_command("seed_demo_chain", "--start", str(START - 600), "--end", str(END + 600))

    def create() -> str:
        ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
        with transaction.atomic():  # messages go out when this commits
            services.job_group_create(job_group_id="k" * 64, ranges=ranges)
        return "k" * 64

    return create


def running_job() -> Job | None:
    return Job.objects.filter(status=Job.Status.RUNNING).first()


def assert_completed_exactly_once(group_id: str) -> list[Job]:
    def done():
        group = JobGroup.objects.get(pk=group_id)
        assert group.status != JobGroup.Status.FAILED, group.error
        return group.status == JobGroup.Status.COMPLETED

    wait_until(done, timeout=120, interval=0.3, what="the group to complete")
    jobs = list(Job.objects.filter(group_id=group_id))
    assert all(job.status == Job.Status.SUCCEEDED for job in jobs)
    assert Proof.objects.filter(job__group_id=group_id).count() == 3  # one proof per job
    return jobs


def test_pool_process_killed_mid_proof(make_worker, group_id):
    worker = make_worker(env=SLOW_DEV_PROVER, concurrency=1)
    group = group_id()
    victim = wait_until(running_job, timeout=60, interval=0.1, what="a job to start")
    children = worker.pool_pids()
    assert children, worker.log_tail()
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    jobs = assert_completed_exactly_once(group)
    killed = next(job for job in jobs if job.pk == victim.pk)
    assert killed.attempts == 2, worker.log_tail()
    assert all(job.attempts <= job.max_attempts for job in jobs)


def test_whole_worker_killed_mid_proof_then_another_worker_finishes(make_worker, group_id):
    first = make_worker(env=SLOW_DEV_PROVER, concurrency=1)
    group = group_id()
    victim = wait_until(running_job, timeout=60, interval=0.1, what="a job to start")
    first.kill()  # main process and pool: no warm shutdown, messages stay in flight
    make_worker(env=SLOW_DEV_PROVER, concurrency=2)
    jobs = assert_completed_exactly_once(group)
    killed = next(job for job in jobs if job.pk == victim.pk)
    assert killed.attempts == 2
