from __future__ import annotations

import pytest
from django.core.management import call_command

from proving import services
from proving.models import Job, JobGroup, Proof

pytestmark = pytest.mark.django_db

START, END = 1672531200, 1672531200 + 2 * 3600


@pytest.fixture
def failed_group(db):
    call_command("seed_demo_chain", "--start", str(START - 600), "--end", str(END + 600))
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = services.job_group_create(job_group_id="r" * 64, ranges=ranges)
    Job.objects.filter(group=group).update(status="failed", attempts=4, error_code="time_limit")
    JobGroup.objects.filter(pk=group.pk).update(status="failed", error="timeouts")
    return group


def test_replay_job_runs_a_failed_job_through_the_task_code(failed_group, capsys):
    job = Job.objects.get(group=failed_group, metric="twap")
    call_command("replay_job", str(job.pk), "--sync")
    assert f"job {job.pk}: succeeded" in capsys.readouterr().out
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert Proof.objects.filter(job=job).count() == 1
    assert JobGroup.objects.get(pk=failed_group.pk).status == "running"  # the group runs again


def test_replay_job_refuses_a_succeeded_job(failed_group, capsys):
    job = Job.objects.get(group=failed_group, metric="twap")
    Job.objects.filter(pk=job.pk).update(status="succeeded")
    with pytest.raises(SystemExit) as exit_info:
        call_command("replay_job", str(job.pk))
    assert exit_info.value.code == 2
    assert "already succeeded" in capsys.readouterr().err


def test_replay_group_runs_every_unfinished_job(failed_group, capsys):
    call_command("replay_group", failed_group.pk, "--sync")
    out = capsys.readouterr().out
    assert out.count(": succeeded") == 3
    assert Job.objects.filter(group=failed_group, status="succeeded").count() == 3


def test_replay_group_unknown_or_running_is_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("replay_group", "nope")
    assert exit_info.value.code == 2 and "no job group" in capsys.readouterr().err


def test_replay_job_sync_exits_1_when_the_job_fails(db, capsys):
    # no block data at all: the job fails for good, and the command says so in its exit code
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = services.job_group_create(job_group_id="f" * 64, ranges=ranges)
    job = Job.objects.get(group=group, metric="twap")
    Job.objects.filter(pk=job.pk).update(status="failed", error_code="time_limit")
    with pytest.raises(SystemExit) as exit_info:
        call_command("replay_job", str(job.pk), "--sync")
    captured = capsys.readouterr()
    assert exit_info.value.code == 1
    assert f"job {job.pk}: failed" in captured.out
    assert "did not succeed" in captured.err


def test_replay_group_sync_exits_1_when_a_job_fails(db, capsys):
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = services.job_group_create(job_group_id="g" * 64, ranges=ranges)
    Job.objects.filter(group=group).update(status="failed", error_code="time_limit")
    JobGroup.objects.filter(pk=group.pk).update(status="failed", error="timeouts")
    with pytest.raises(SystemExit) as exit_info:
        call_command("replay_group", group.pk, "--sync")
    assert exit_info.value.code == 1
    assert "did not succeed" in capsys.readouterr().err
