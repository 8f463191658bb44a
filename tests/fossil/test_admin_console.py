"""The operator console: styled, filterable pages, human-readable values, the chart, and
actions that go through the services behind a confirmation page (issue 14, items 1-2)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from offchain.models import ApiKey
from offchain.services import api_key_create
from proving import services
from proving.models import Job, JobGroup, Proof
from proving.runner import job_run

pytestmark = pytest.mark.django_db

START, END = 1672531200, 1672531200 + 2 * 3600
RANGES = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-ops-1234")
    client.force_login(user)
    return client


@pytest.fixture
def chain(db):
    call_command("seed_demo_chain", "--start", str(START - 600), "--end", str(END + 600))


@pytest.fixture
def completed_group(chain):
    group, _ = services.job_group_create(job_group_id="a" * 64, ranges=RANGES)
    for job in Job.objects.filter(group=group):
        assert job_run(job_id=job.pk).status == "succeeded"
    assert services.job_group_record_outcome(job_id=job.pk) == "completed"
    return JobGroup.objects.get(pk=group.pk)


@pytest.fixture
def failed_group(db):
    group, _ = services.job_group_create(job_group_id="b" * 64, ranges=RANGES)
    Job.objects.filter(group=group, metric="twap").update(
        status="failed",
        attempts=4,
        error_code="no_data",
        error_message="no block in bucket 1672531200",
        finished_at=timezone.now(),
    )
    Job.objects.filter(group=group).exclude(metric="twap").update(status="succeeded")
    JobGroup.objects.filter(pk=group.pk).update(status="failed", error="twap: no_data")
    return group


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/dashboard/",
        "/admin/proving/job/",
        "/admin/proving/jobgroup/",
        "/admin/proving/proof/",
        "/admin/offchain/pricingrequest/",
        "/admin/offchain/apikey/",
        "/admin/handler/blockheader/",
        "/admin/proving/job/?status__exact=failed&error_code=no_data&metric__exact=twap",
        "/admin/proving/jobgroup/?status__exact=failed&q=bbbb",
        "/admin/offchain/apikey/?revoked_at__isempty=1",
    ],
)
def test_console_pages_render_for_staff(staff, failed_group, url):
    response = staff.get(url)
    assert response.status_code == 200, url
    assert b"/static/admin/css/base.css" in response.content


def test_console_needs_a_login(client):
    assert client.get("/admin/dashboard/").status_code == 302


def test_static_files_are_served_by_the_app_with_debug_off(client, settings):
    assert settings.DEBUG is False
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"/*")


def test_block_headers_show_utc_time_and_gwei(staff, chain):
    body = staff.get("/admin/handler/blockheader/").content.decode()
    assert "UTC" in body and " gwei" in body


def test_dashboard_counts_failures_and_latency(staff, completed_group, failed_group):
    body = staff.get("/admin/dashboard/").content.decode()
    assert "no_data" in body
    assert "p50" in body and "reserve_price" in body
    from proving.selectors import dashboard

    hour = dashboard(timezone.now())["windows"][0]
    assert hour["jobs"]["succeeded"] == 5 and hour["jobs"]["failed"] == 1
    assert {row["metric"] for row in hour["latency"]} == {"twap", "reserve_price", "max_return"}
    assert all(0 <= row["p50"] <= row["p90"] <= row["p99"] for row in hour["latency"])


def test_completed_group_page_has_the_chart_with_every_mark(staff, completed_group):
    body = staff.get(f"/admin/proving/jobgroup/{completed_group.pk}/change/").content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="fossil-chart"' in body
    for mark in ("TWAP", "strike", "cap (1.3 x strike)", "reserve price"):
        assert f'data-mark="{mark}"' in body
    assert body.count("<polyline") == 1
    assert "vault_result" in body  # the pretty-printed result


def test_proof_record_is_pretty_printed(staff, completed_group):
    proof = Proof.objects.first()
    body = staff.get(f"/admin/proving/proof/{proof.pk}/change/").content.decode()
    assert "<pre" in body and "&quot;claim_digest&quot;: " in body


def test_retry_action_asks_first_then_calls_the_service(staff, failed_group, sqs_queues):
    job = Job.objects.get(group=failed_group, metric="twap")
    form = {"action": "retry_failed_jobs", "_selected_action": [job.pk]}
    confirm = staff.post("/admin/proving/job/", form)
    assert confirm.status_code == 200 and b"Yes, go ahead" in confirm.content
    assert Job.objects.get(pk=job.pk).status == "failed"  # nothing happened yet
    done = staff.post("/admin/proving/job/", {**form, "confirmed": "yes"}, follow=True)
    assert b"done for 1 row" in done.content
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_code) == ("pending", 0, "")
    assert JobGroup.objects.get(pk=failed_group.pk).status == "running"


def test_retry_of_a_succeeded_job_is_refused_with_the_reason(staff, failed_group):
    job = Job.objects.get(group=failed_group, metric="max_return")
    form = {"action": "retry_failed_jobs", "_selected_action": [job.pk], "confirmed": "yes"}
    body = staff.post("/admin/proving/job/", form, follow=True).content.decode()
    assert "already succeeded" in body


def test_group_retry_action(staff, failed_group, sqs_queues):
    form = {"action": "retry_failed_groups", "_selected_action": [failed_group.pk], "confirmed": "yes"}
    staff.post("/admin/proving/jobgroup/", form)
    group = JobGroup.objects.get(pk=failed_group.pk)
    assert (group.status, group.run) == ("running", 2)


def test_revoke_key_action(staff):
    key, _ = api_key_create(name="leaked")
    form = {"action": "revoke_keys", "_selected_action": [key.pk]}
    assert b"cannot be undone" in staff.post("/admin/offchain/apikey/", form).content
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    staff.post("/admin/offchain/apikey/", {**form, "confirmed": "yes"})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_direct_edits_stay_impossible(staff, failed_group):
    job = Job.objects.get(group=failed_group, metric="twap")
    staff.post(f"/admin/proving/job/{job.pk}/change/", {"status": "succeeded"})
    assert Job.objects.get(pk=job.pk).status == "failed"
    assert staff.get("/admin/proving/job/add/").status_code == 403


def test_dead_letters_page_requeues_after_confirmation(staff, sqs_queues):
    import json

    from fossil.queues import sqs_client

    celery_body = json.dumps({"headers": {"task": "proving.record_job_outcome", "id": "x"}, "body": "[[1], {}, {}]"})
    sqs_client().send_message(QueueUrl=sqs_queues["outcomes-dlq"], MessageBody=celery_body)
    page = staff.get("/admin/dead-letters/").content.decode()
    assert "outcomes" in page
    confirm = staff.post("/admin/dead-letters/", {"queue": "outcomes"}).content.decode()
    assert "proving.record_job_outcome" in confirm and "Yes, requeue them" in confirm
    staff.post("/admin/dead-letters/", {"queue": "outcomes", "confirmed": "yes"})
    from proving.dead_letters import queue_depths

    depth = {d.queue: d for d in queue_depths()}["outcomes"]
    assert depth.dead == 0 and depth.waiting + depth.in_flight >= 1


def test_admin_index_links_the_operator_pages(staff):
    body = staff.get("/admin/").content.decode()
    assert 'id="operator-links"' in body
    for url in ("/admin/dashboard/", "/admin/dead-letters/", "/api/docs"):
        assert f'href="{url}"' in body


def test_vault_filter_and_address_search(staff, failed_group):
    from offchain.models import PricingRequest
    from tests.conftest import EXAMPLE_REQUEST

    vault = EXAMPLE_REQUEST["client_info"]["vault_address"]
    PricingRequest.objects.create(
        job_id=failed_group.pk,
        identifiers=EXAMPLE_REQUEST["identifiers"],
        params=EXAMPLE_REQUEST["params"],
        client_info=EXAMPLE_REQUEST["client_info"],
    )
    services.job_group_create(job_group_id="c" * 64, ranges=RANGES)  # another vault's (no request)
    listed = staff.get(f"/admin/proving/jobgroup/?vault={vault}").content.decode()
    assert failed_group.pk in listed and "c" * 64 not in listed
    jobs = staff.get(f"/admin/proving/job/?vault={vault}").context["cl"].result_count
    assert jobs == 3
    found = staff.get(f"/admin/offchain/pricingrequest/?q={vault.upper().replace('0X', '0x')}")
    assert found.context["cl"].result_count == 1
