from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from fossil.http import ServiceCallFailed
from handler.proofs.coprocessor.journals import CompositionJournal
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


def test_a_job_failed_for_good_cancels_its_unfinished_siblings():
    from proving import jobs as job_transitions

    jobs = make_group()
    token = job_transitions.job_claim(job_id=jobs["reserve_price"].pk)  # a sibling mid-proof
    finish(jobs["max_return"])
    Job.objects.filter(pk=jobs["twap"].pk).update(status="failed", error_code="no_data", error_message="missing bucket")
    assert services.job_group_record_outcome(job_id=jobs["twap"].pk) == "failed"
    by_metric = {job.metric: job for job in Job.objects.filter(group_id="g1")}
    assert (by_metric["reserve_price"].status, by_metric["reserve_price"].error_code) == ("failed", "cancelled")
    assert "twap job failed for good (no_data)" in by_metric["reserve_price"].error_message
    assert by_metric["max_return"].status == "succeeded"  # a finished proof stands
    group = JobGroup.objects.get(pk="g1")
    assert group.error.startswith("twap: no_data") and "cancelled" not in group.error
    # the sibling's run lost its lease with the cancel (its proof would be dropped), and no run starts
    assert job_transitions.job_renew_lease(job_id=jobs["reserve_price"].pk, token=token) is False
    assert job_transitions.job_claim(job_id=jobs["reserve_price"].pk) is None
    # a rerun of the group runs the cancelled job again
    assert sorted(services.job_group_rerun(group_id="g1", dispatch=False)) == sorted(
        [jobs["twap"].pk, jobs["reserve_price"].pk]
    )


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


def _finished_group(group_id: str) -> str:
    JobGroup.objects.create(id=group_id, status=JobGroup.Status.COMPLETED, finished_at=timezone.now())
    return group_id


def _row_lockable_elsewhere(group_id: str) -> bool:
    """Whether another connection can lock the group's row right now (NOWAIT)."""
    outcome = {}

    def probe():
        try:
            with transaction.atomic():
                JobGroup.objects.select_for_update(nowait=True).get(pk=group_id)
            outcome["locked"] = True
        except DatabaseError:
            outcome["locked"] = False
        finally:
            connection.close()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(timeout=10)
    return outcome.get("locked", False)


@pytest.mark.django_db(transaction=True)
def test_notify_holds_no_lock_or_transaction_during_the_call_and_delivers_once(monkeypatch):
    group_id = _finished_group("n1")
    seen = []

    def fake_post(url, payload):
        seen.append(
            {
                "in_transaction": connection.in_atomic_block,
                "row_lockable": _row_lockable_elsewhere(group_id),
                # a second notifier (a retry, a reconciler re-send) while this call is in flight
                "second_notifier": services.job_group_notify(group_id=group_id),
            }
        )
        return {"status": "accepted"}

    monkeypatch.setattr(services, "post_signed_json", fake_post)
    assert services.job_group_notify(group_id=group_id) is True
    assert seen == [{"in_transaction": False, "row_lockable": True, "second_notifier": False}]
    assert JobGroup.objects.get(pk=group_id).notified_at is not None
    assert services.job_group_notify(group_id=group_id) is False  # already told
    assert len(seen) == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_notify_gives_its_claim_back_and_a_dead_notifiers_claim_lapses(monkeypatch):
    group_id = _finished_group("n2")

    def refused(url, payload):
        raise ServiceCallFailed("down")

    monkeypatch.setattr(services, "post_signed_json", refused)
    with pytest.raises(ServiceCallFailed):
        services.job_group_notify(group_id=group_id)
    group = JobGroup.objects.get(pk=group_id)
    assert group.notified_at is None and group.notify_claimed_until is None

    calls = []
    monkeypatch.setattr(services, "post_signed_json", lambda url, payload: calls.append(url) or {})
    # a notifier that died mid-call: its claim stands until it lapses
    JobGroup.objects.filter(pk=group_id).update(notify_claimed_until=timezone.now() + timedelta(seconds=30))
    assert services.job_group_notify(group_id=group_id) is False
    JobGroup.objects.filter(pk=group_id).update(notify_claimed_until=timezone.now() - timedelta(seconds=1))
    assert services.job_group_notify(group_id=group_id) is True
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_group_asked_about_again_after_its_notice_is_notified_again_at_once(monkeypatch):
    """The claim ends with a delivered notice: a later notice (the group asked about again, a
    replay) goes out at once, not after the claim would have lapsed."""
    group_id = _finished_group("n3")
    calls = []
    monkeypatch.setattr(services, "post_signed_json", lambda url, payload: calls.append(url) or {})
    assert services.job_group_notify(group_id=group_id) is True
    assert JobGroup.objects.get(pk=group_id).notify_claimed_until is None
    JobGroup.objects.filter(pk=group_id).update(notified_at=None)  # what a replay or re-ask does
    assert services.job_group_notify(group_id=group_id) is True
    assert len(calls) == 2
