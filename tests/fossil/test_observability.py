"""/metrics (Prometheus, multiprocess) and the log context (issue 14, item 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import EXAMPLE_REQUEST, REPO, wait_until

EXAMPLE_START, EXAMPLE_END = EXAMPLE_REQUEST["params"]["twap"]


def samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(parsed: dict, name: str, **labels) -> float:
    return sum(v for (n, ls), v in parsed.items() if n == name and all(dict(ls).get(k) == w for k, w in labels.items()))


@pytest.mark.django_db
def test_metrics_are_open_locally_and_named_fossil(client, sqs_queues):
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    parsed = samples(response.content.decode())
    assert value(parsed, "fossil_http_requests_total", endpoint="health", method="GET", status="200") >= 1
    assert value(parsed, "fossil_scrape_source_up", source="sqs") == 1
    assert value(parsed, "fossil_scrape_source_up", source="postgres") == 1
    assert ("fossil_queue_messages", (("queue", "proofs"), ("state", "waiting"))) in parsed
    assert ("fossil_dead_letter_messages", (("queue", "proofs"),)) in parsed
    ours = {name for name, _ in parsed if not name.startswith(("python_", "process_"))}
    assert ours and all(name.startswith("fossil_") for name in ours), ours


@pytest.mark.django_db
def test_metrics_token_requires_the_bearer(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token").status_code == 200


def test_production_settings_refuse_to_start_without_a_metrics_token():
    env = dict(
        os.environ,
        FOSSIL_REQUIRE_SECRETS="true",
        SECRET_KEY="7TAjJ0Ffo_Ev1bShQ0cADEy3pknOwtTbZUBwTWU6iOZZqYJYSbHIerHzIkQuYwaa",
        SERVICE_SHARED_SECRET="zGlpnagcxgCmX1w5Cpuun95c9kz1URq7iJDXnQUliGgwuc8P2RlEUmaT6wjnpqkU",
    )
    env.pop("METRICS_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "fossil.settings"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "METRICS_TOKEN must be set" in result.stderr


@pytest.mark.django_db
def test_reconciler_actions_are_counted(client, sqs_queues):
    from proving import services
    from proving.models import Job
    from proving.tasks import reconcile

    ranges = {metric: (100, 200) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = services.job_group_create(job_group_id="m" * 64, ranges=ranges)
    Job.objects.filter(group=group).update(dispatched_at=None, created_at=timezone.now() - timedelta(minutes=5))
    before = value(
        samples(client.get("/metrics").content.decode()), "fossil_reconciler_actions_total", action="jobs_resent"
    )
    reconcile()
    after = value(
        samples(client.get("/metrics").content.decode()), "fossil_reconciler_actions_total", action="jobs_resent"
    )
    assert after - before == 3


def test_request_id_comes_back_and_a_bad_one_is_replaced(client):
    good = client.get("/health", HTTP_X_REQUEST_ID="client-chosen-id-42")
    assert good["X-Request-ID"] == "client-chosen-id-42"
    bad = client.get("/health", HTTP_X_REQUEST_ID="no spaces or <html> allowed")
    assert len(bad["X-Request-ID"]) == 32


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_json_logs_follow_one_request_into_the_workers_and_jobs_are_measured(live_server, make_worker, api_key, client):
    from django.core.management import call_command

    call_command("seed_demo_chain", "--start", str(EXAMPLE_START - 86400), "--end", str(EXAMPLE_END + 3600))
    worker = make_worker(env={"LOG_FORMAT": "json"})
    # a job id of its own: other tests' leftover messages for the README example's id must not answer
    body = {**EXAMPLE_REQUEST, "client_info": {**EXAMPLE_REQUEST["client_info"], "timestamp": 1741243060}}
    response = requests.post(
        f"{live_server.url}/pricing_data",
        json=body,
        timeout=30,
        headers={"X-API-Key": api_key, "X-Request-ID": "e2e-request-0001"},
    )
    job_id = response.json()["job_id"]

    def status():
        return requests.get(f"{live_server.url}/job_status/{job_id}", headers={"X-API-Key": api_key}, timeout=30).json()

    wait_until(lambda: status()["status"] == "Completed", timeout=120, interval=0.5, what="completion")

    def outcome_lines():
        lines = [line for line in worker.log_path.read_text().splitlines() if line.startswith("{")]
        records = [json.loads(line) for line in lines]  # every log line is one JSON object
        return [record for record in records if record.get("outcome")] if len(records) else None

    outcomes = wait_until(
        lambda: (found := outcome_lines()) and len(found) >= 3 and found, timeout=30, what="outcome lines"
    )
    assert sorted(record["metric"] for record in outcomes) == ["max_return", "reserve_price", "twap"]
    for record in outcomes:
        assert record["outcome"] == "succeeded" and record["group_id"] == job_id
        assert isinstance(record["job_id"], int) and record["duration_seconds"] > 0
        assert record["request_id"] == "e2e-request-0001"  # carried web -> forward -> proving -> prove_job
    records = [json.loads(line) for line in worker.log_path.read_text().splitlines() if line.startswith("{")]
    assert not [r for r in records if r["logger"].startswith("botocore")], "botocore chatter is quieted"

    parsed = samples(client.get("/metrics").content.decode())  # counters written by the worker's pool processes
    for metric in ("twap", "reserve_price", "max_return"):
        assert value(parsed, "fossil_job_runs_total", metric=metric, outcome="succeeded") >= 1
        assert value(parsed, "fossil_job_run_duration_seconds_count", metric=metric, outcome="succeeded") >= 1
        assert value(parsed, "fossil_job_attempts_count", metric=metric, outcome="succeeded") >= 1
    assert value(parsed, "fossil_proof_duration_seconds_count", backend="attested") >= 3


def test_celery_received_line_carries_the_job_id():
    import logging

    from fossil.log_context import ContextFilter

    record = logging.LogRecord(
        "celery.worker.strategy", logging.INFO, __file__, 1, "Task %(name)s[%(id)s] received", None, None
    )
    record.data = {"id": "x", "name": "handler.prove_job", "args": "(42,)", "kwargs": "{}"}
    ContextFilter().filter(record)
    assert record.job_id == 42
    record = logging.LogRecord("celery.worker.strategy", logging.INFO, __file__, 1, "received", None, None)
    record.data = {"id": "y", "name": "proving.notify_offchain", "args": "('" + "a" * 64 + "',)", "kwargs": "{}"}
    ContextFilter().filter(record)
    assert record.group_id == "a" * 64
