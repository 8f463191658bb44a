"""A bad seal from a Bento-compatible server fails the job with a reason; status never fails
because of a proof, and never runs garaga on a poll."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from fake_bonsai import FakeBonsai, FakeBonsaiServer
from proofs_support import COPROCESSOR_TEST_IMAGE_IDS, DO_NOTHING_IMAGE_ID, RECEIPTS

from handler.proofs import django_glue
from handler.proofs.coprocessor import starknet
from handler.proofs.records import ProofRecord
from handler.proofs.risc0.receipt import encode_receipt, parse_receipt
from offchain.models import ApiKey, PricingRequest
from offchain.services import hash_api_key, pricing_request_sync
from proving import runner
from proving import services as proving_services
from proving.models import Job, Proof
from tests.conftest import EXAMPLE_REQUEST, groth16_vector_record, stub_metric_result

START, END = 1672531200, 1672531200 + 6 * 3600
JOB_ID = "d" * 64


def owner_of(raw_key: str) -> ApiKey:
    """The stored key behind key_client: /job_status shows a request only to the key that made it."""
    return ApiKey.objects.get(key_hash=hash_api_key(raw_key))


@pytest.fixture
def bento_with_bad_seals(settings, tmp_path):
    real = (RECEIPTS / "risc0_v5_groth16_do_nothing.bin").read_bytes()
    state = FakeBonsai(receipt_bytes=real)
    # the TWAP program commits its input: the right journal, but the seal proves the do-nothing run
    state.receipt_for_input = lambda data: encode_receipt(parse_receipt(real).with_journal(data))
    elf = tmp_path / "guest.elf"
    elf.write_bytes(b"\x7fELF fake guest")
    profile = tmp_path / "profile.json"
    programs = {name: {"image_id": image_id.hex()} for name, image_id in COPROCESSOR_TEST_IMAGE_IDS.items()}
    profile.write_text(json.dumps({"name": "poc", "programs": programs}))
    with FakeBonsaiServer(state) as running:
        settings.PROVER_BACKEND = "bonsai"
        settings.BONSAI_API_URL, settings.BONSAI_API_KEY = running.api_url, running.api_key
        settings.PROOF_JOURNAL_FORMAT, settings.BONSAI_SELECTOR = "pitchlake", "c27d1bc0"
        settings.BONSAI_TWAP_IMAGE_ID, settings.BONSAI_MAX_RETURN_IMAGE_ID = DO_NOTHING_IMAGE_ID.hex(), "ab" * 32
        settings.BONSAI_TWAP_ELF_PATH, settings.BONSAI_POLL_INTERVAL_SECONDS = str(elf), 0.01
        settings.COPROCESSOR_PROFILE = str(profile)
        django_glue.reset_caches()
        yield running
    django_glue.reset_caches()


def request_and_group(api_key):
    """The example request as the offchain processor stores it, and its job group in the proving service."""
    PricingRequest.objects.create(
        api_key=owner_of(api_key),
        job_id=JOB_ID,
        identifiers=EXAMPLE_REQUEST["identifiers"],
        params=EXAMPLE_REQUEST["params"],
        client_info=EXAMPLE_REQUEST["client_info"],
    )
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = proving_services.job_group_create(job_group_id=JOB_ID, ranges=ranges)
    return group


@pytest.mark.django_db(transaction=True)
def test_bad_seal_from_bento_fails_the_job_with_a_reason_and_status_answers_200(
    bento_with_bad_seals, live_server, settings, sqs_queues, api_key, key_client
):
    call_command("seed_demo_chain", "--start", str(START - 3600), "--end", str(END + 600))
    settings.PROVING_SERVICE_URL = live_server.url
    group = request_and_group(api_key)
    job = Job.objects.get(group=group, metric="twap")
    assert runner.job_run(job_id=job.pk).status == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.error_code == "proof_rejected"
    assert job.error_message.startswith("proof_verification: pairing: the Groth16 seal does not prove claim")
    assert not Proof.objects.filter(job=job).exists()
    assert bento_with_bad_seals.calls("GET", "receipts", server="storage")  # it did get a receipt
    proving_services.job_group_record_outcome(job_id=job.pk)
    assert pricing_request_sync(job_id=JOB_ID) == "failed"
    resp = key_client.get(f"/job_status/{JOB_ID}")
    assert resp.status_code == 200
    body = resp.json()
    # the client gets a stable code and a plain message; the failed check stays for operators
    assert body["status"] == "Failed" and body["error_code"] == "proof_rejected" and "pairing" not in body["error"]
    assert "pairing" in PricingRequest.objects.get(job_id=JOB_ID).error


def _genuine(version: str) -> dict:
    vectors = json.loads((RECEIPTS / "groth16_vectors.json").read_text())
    return groth16_vector_record(
        next(v for v in vectors if v["version"] == version and v["name"].startswith("risc0-ethereum"))
    )


def test_calldata_is_computed_once_for_stored_proofs():
    ok = starknet.proof_calldata(_genuine("V2_2"))
    if starknet.garaga_available():
        assert len(ok["calldata"]) == 1976 and int(ok["calldata"][0], 16) == 1975
        # garaga's verifier carries V2_2's constants only: another version gives an error entry, not an exception
        other = starknet.proof_calldata(_genuine("V5_0"))
        assert other["error"]["code"] == "calldata_unsupported_version" and "V5_0" in other["error"]["message"]
    else:
        assert ok["error"]["code"] == "starknet_calldata_unavailable"
    assert starknet.proof_calldata({"kind": "attested"})["error"]["code"] == "record_format"


def stored_record(version: str) -> dict:
    """The record as the proving service stores and returns it (every field)."""
    return ProofRecord.from_json(_genuine(version)).to_json()


@pytest.mark.django_db
def test_status_reports_proofs_without_calldata_in_the_body_and_never_runs_garaga(api_key, key_client, monkeypatch):
    stored = {
        "twap": starknet.proof_calldata(_genuine("V2_2")),
        "max_return": {"error": {"code": "proof_verification", "message": "pairing: …"}},
        "reserve_price": None,
    }
    metrics = {
        m: {"result": stub_metric_result(m), "receipt": stored_record("V2_2"), "starknet_calldata": stored[m]}
        for m in stored
    }
    PricingRequest.objects.create(
        api_key=owner_of(api_key),
        job_id=JOB_ID,
        status="Completed",
        identifiers=EXAMPLE_REQUEST["identifiers"],
        params=EXAMPLE_REQUEST["params"],
        client_info=EXAMPLE_REQUEST["client_info"],
        results={
            "metrics": metrics,
            "vault_result": ["0x1"] * 9,
            "composition_journal": None,
            "composition_proof": None,
        },
    )

    def no_garaga(*args, **kwargs):
        raise AssertionError("garaga must not run on a status read")

    monkeypatch.setattr(starknet, "garaga_calldata", no_garaga)
    resp = key_client.get(f"/job_status/{JOB_ID}")
    assert resp.status_code == 200
    block = resp.json()["starknet"]
    calldata = block["verify_proof_calldata"]
    assert calldata["max_return"] == {"error": {"code": "proof_verification", "message": "pairing: …"}}
    assert calldata["reserve_price"]["error"]["code"] == "calldata_not_computed"
    if "calldata" in stored["twap"]:
        assert int(calldata["twap"][0], 16) == len(stored["twap"]["calldata"]) and len(calldata["twap"]) == 1 + 1976 + 3
    assert block["verifier_data"] == ["0x1"] * 9  # journals in another format: the group's vault result


@pytest.mark.django_db(transaction=True)
def test_pitchlake_journal_format_end_to_end_with_the_attested_provider(
    settings, live_server, sqs_queues, api_key, key_client
):
    from handler.proofs.coprocessor.guests import MaxReturnJournal, TwapErrorBoundInput

    call_command("seed_demo_chain", "--start", str(START - 3600), "--end", str(END + 600))
    settings.PROOF_JOURNAL_FORMAT, settings.PROVER_BACKEND = "pitchlake", "attested"
    settings.PROVING_SERVICE_URL = live_server.url
    django_glue.reset_caches()
    try:
        group = request_and_group(api_key)
        for job in Job.objects.filter(group=group):
            assert runner.job_run(job_id=job.pk).status == "succeeded"
            proving_services.job_group_record_outcome(job_id=job.pk)
        proofs = {p.job.metric: p for p in Proof.objects.filter(job__group=group).select_related("job")}
        twap = TwapErrorBoundInput.decode(bytes(proofs["twap"].journal))
        assert twap.twap_tolerance == 1.0 and twap.twap_result == float(proofs["twap"].job.result["value"])
        assert MaxReturnJournal.decode(bytes(proofs["max_return"].journal)).max_return == float(
            proofs["max_return"].job.result["value"]
        )
        assert all(p.starknet is None for p in proofs.values())  # attested: nothing for the on-chain verifier
        assert pricing_request_sync(job_id=JOB_ID) == "completed"
        resp = key_client.get(f"/job_status/{JOB_ID}")
        assert resp.status_code == 200
        body = resp.json()
        assert body["status"] == "Completed" and body["starknet"]["verifier_data"] == [
            hex(int(f, 16)) for f in body["vault_result"]
        ]
    finally:
        django_glue.reset_caches()
