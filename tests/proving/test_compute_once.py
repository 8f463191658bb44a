"""Identical computations share one computation and one proof; each client keeps its own job
id, status and tenancy (issue 21, item 4)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from handler.models import BlockHeader
from proving import jobs as job_transitions
from proving import runner
from proving import services as proving_services
from proving.models import Job, Proof

pytestmark = pytest.mark.django_db

START, END = 1672531200, 1672531200 + 6 * 3600
RANGES = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}


@pytest.fixture
def chain(db):
    call_command("seed_demo_chain", "--start", str(START - 3600), "--end", str(END + 600))


def run_group(group_id: str, ranges=RANGES) -> dict[str, Job]:
    group, _ = proving_services.job_group_create(job_group_id=group_id, ranges=ranges)
    for job in group.jobs.all():
        assert runner.job_run(job_id=job.pk).status == "succeeded"
    return {job.metric: job for job in Job.objects.filter(group=group)}


def never_computes(**_kwargs):
    raise AssertionError("computed again")


def test_an_identical_group_takes_the_first_ones_results_and_proofs(chain, monkeypatch):
    first = run_group("a" * 64)
    monkeypatch.setattr(runner, "compute_and_prove", never_computes)
    second = run_group("b" * 64)
    for metric, job in second.items():
        source = first[metric]
        assert (job.status, job.computed, job.shared_from_id) == ("succeeded", False, source.pk)
        assert (source.computed, source.shared_from_id) == (True, None)
        assert job.computation_key == source.computation_key and len(job.computation_key) == 64
        assert job.result == source.result
        assert Proof.objects.get(job=job).record == Proof.objects.get(job=source).record
    assert Job.objects.filter(computed=True).count() == 3  # one computation per metric


def test_a_different_range_or_different_block_data_is_computed_again(chain):
    first = run_group("a" * 64)
    shorter = {metric: (START, END - 3600) for metric in RANGES}
    other = run_group("b" * 64, shorter)
    assert all(job.computed and job.shared_from_id is None for job in other.values())
    # the same range over changed block data: another data commitment, another computation
    block = BlockHeader.objects.filter(timestamp__gte=START, timestamp__lt=END).order_by("number").first()
    BlockHeader.objects.filter(pk=block.pk).update(base_fee_per_gas=block.base_fee_per_gas + 10**9)
    changed = run_group("c" * 64)
    for metric, job in changed.items():
        assert job.computed and job.computation_key != first[metric].computation_key


def test_two_runs_racing_past_the_turn_still_store_one_computation(chain, monkeypatch):
    """Should two runs compute the same thing at once, the unique constraint keeps one
    computation and the second run takes its result and proof."""
    first = run_group("a" * 64)
    original = job_transitions.job_share_computation
    calls = []

    def not_found_the_first_time(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else original(**kwargs)

    monkeypatch.setattr(job_transitions, "job_share_computation", not_found_the_first_time)
    group, _ = proving_services.job_group_create(job_group_id="b" * 64, ranges=RANGES)
    twap = group.jobs.get(metric="twap")
    assert runner.job_run(job_id=twap.pk).status == "succeeded"
    twap.refresh_from_db()
    assert (twap.computed, twap.shared_from_id) == (False, first["twap"].pk)
    assert Job.objects.filter(computed=True, metric="twap").count() == 1


def test_two_clients_asking_the_same_share_the_proof_but_not_their_requests(chain, settings, sqs_queues):
    from rest_framework.test import APIClient

    from offchain.models import PricingRequest
    from offchain.services import api_key_create
    from tests.conftest import EXAMPLE_REQUEST

    settings.PROVING_TRANSPORT = "inprocess"
    body = dict(
        EXAMPLE_REQUEST, params={"twap": [START, END], "volatility": [START, END], "reserve_price": [START, END]}
    )
    clients, job_ids = [], []
    for name in ("alice", "bob"):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=api_key_create(name=name)[1])
        response = client.post("/pricing_data", body, format="json")
        assert response.status_code == 201, response.json()
        clients.append(client)
        job_ids.append(response.json()["job_id"])
    assert job_ids[0] != job_ids[1]  # each client its own job id
    for job_id in job_ids:
        for job in Job.objects.filter(group_id=job_id).order_by("metric"):
            runner.job_run(job_id=job.pk)
        proving_services.job_group_record_outcome(job_id=job.pk)
    assert Job.objects.filter(computed=True).count() == 3 and Job.objects.filter(shared_from__isnull=False).count() == 3
    statuses = [client.get(f"/job_status/{job_id}").json() for client, job_id in zip(clients, job_ids)]
    assert [status["status"] for status in statuses] == ["Completed", "Completed"]
    assert statuses[0]["results"] == statuses[1]["results"]
    assert statuses[0]["receipts"] == statuses[1]["receipts"]
    # no cross-tenant read: each key sees only its own request
    assert clients[0].get(f"/job_status/{job_ids[1]}").status_code == 404
    assert clients[1].get(f"/job_status/{job_ids[0]}").status_code == 404
    assert PricingRequest.objects.get(pk=job_ids[0]).api_key.name == "alice"


def test_after_a_key_rotation_nothing_signed_by_the_retired_key_is_shared(chain, settings, tmp_path):
    from handler.proofs import django_glue
    from handler.proofs.keys import create_private_key_file

    first = run_group("c" * 64)
    settings.PROVER_KEY_FILE, settings.PROVER_PRIVATE_KEY = str(tmp_path / "next.pem"), ""
    create_private_key_file(settings.PROVER_KEY_FILE)
    django_glue.reset_caches()
    call_command("rotate_prover_key", "--key-file", settings.PROVER_KEY_FILE)
    try:
        second = run_group("d" * 64)
    finally:
        django_glue.reset_caches()
    for metric, job in second.items():
        assert job.computed and job.computation_key != first[metric].computation_key
        assert Proof.objects.get(job=job).record["key_id"] != Proof.objects.get(job=first[metric]).record["key_id"]
