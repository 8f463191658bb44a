from __future__ import annotations

import pytest

from handler.proofs.journal import CompositionJournal
from proving import services
from proving.models import Job, JobGroup

pytestmark = pytest.mark.django_db

RANGES = {"twap": (100, 200), "reserve_price": (100, 200), "max_return": (50, 200)}


def make_group(group_id="g1"):
    group, outcome = services.job_group_create(job_group_id=group_id, ranges=RANGES)
    assert outcome == "created"
    return {job.metric: job for job in group.jobs.all()}


def finish(job, *, status="succeeded", value=2.5):
    result = {"value": repr(value), "data_commitment": [7] * 8}
    Job.objects.filter(pk=job.pk).update(status=status, result=result, error_code="boom" if status == "failed" else "")


def test_group_completes_once_when_all_jobs_succeeded(django_capture_on_commit_callbacks):
    jobs = make_group()
    finish(jobs["twap"])
    assert services.job_group_record_outcome(job_id=jobs["twap"].pk) == "waiting"
    finish(jobs["reserve_price"])
    finish(jobs["max_return"])
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.job_group_record_outcome(job_id=jobs["max_return"].pk) == "completed"
        assert services.job_group_record_outcome(job_id=jobs["twap"].pk) == "already-recorded"
    assert len(callbacks) == 1  # one notification, whatever the number of deliveries
    group = JobGroup.objects.get(pk="g1")
    assert group.status == "completed"
    # vault order: reserve price, TWAP, max return; each start, end, value
    vault = group.result["vault_result"]
    assert vault[:2] == [hex(100), hex(200)] and vault[6:8] == [hex(50), hex(200)]
    assert vault[2] == "0x" + f"{(2 << 128) | (1 << 127):064x}"  # 2.5 as UFixedPoint123x128
    journal = CompositionJournal.decode(bytes.fromhex(group.result["composition_journal"][2:]))
    assert [f"0x{v:064x}" if i % 3 == 2 else hex(v) for i, v in enumerate(journal.verifier_data())] == vault
    assert group.result["composition_proof"]["journal"] == group.result["composition_journal"]


def test_one_failed_job_fails_the_group_with_its_reason():
    jobs = make_group()
    finish(jobs["twap"], status="failed")
    assert services.job_group_record_outcome(job_id=jobs["twap"].pk) == "failed"
    group = JobGroup.objects.get(pk="g1")
    assert group.status == "failed" and "twap: boom" in group.error


def test_replay_refuses_succeeded_and_resets_failed_job():
    jobs = make_group()
    finish(jobs["twap"])
    with pytest.raises(services.Conflict):
        services.job_replay(job_id=jobs["twap"].pk)
    finish(jobs["max_return"], status="failed")
    JobGroup.objects.filter(pk="g1").update(status="failed")
    services.job_replay(job_id=jobs["max_return"].pk)
    assert Job.objects.get(pk=jobs["max_return"].pk).status == "pending"
    assert JobGroup.objects.get(pk="g1").status == "running"


def test_rerun_refuses_a_running_group():
    make_group()
    with pytest.raises(services.Conflict):
        services.job_group_rerun(group_id="g1")
