from __future__ import annotations

import json
import time

import pytest
from django.core.management import call_command

from handler.proofs import django_glue
from handler.proofs.journal import MetricJournal
from handler.proofs.providers import build_provider, metric_journal_bytes
from handler.proofs.receipt import encode_receipt, parse_receipt
from handler.proofs.records import ProofInputs, ProofRecord
from handler.proofs.starknet import PITCH_LAKE_V1  # noqa: F401  (import check: no garaga needed)

from pathlib import Path

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "data"
DO_NOTHING_IMAGE_ID = "e0de604acf7c2f7428298bdceb2798f47d6bdca38180746cfc35f692fa546b98"

JOB = ProofInputs("job-1", "twap", 1_700_000_000, 1_700_003_600, 1.5e9, (1, 2, 3, 4, 5, 6, 7, 8))


@pytest.fixture
def key_file(settings, tmp_path):
    settings.PROVER_KEY_FILE = str(tmp_path / "keys" / "prover.pem")
    django_glue.reset_caches()
    yield settings.PROVER_KEY_FILE
    django_glue.reset_caches()


@pytest.fixture
def attested_record(key_file) -> dict:
    provider = build_provider("attested", key_file=key_file, run_checks=False)
    return provider.prove(JOB, deadline=time.monotonic() + 5).to_json()


def run(tmp_path, record, *args, capsys):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record) if not isinstance(record, str) else record)
    code = 0
    try:
        call_command("verify_receipt", str(path), *args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def flip(d: dict, key: str, at: int = -1) -> dict:
    raw = bytearray(bytes.fromhex(d[key][2:]))
    raw[at] ^= 1
    return {**d, key: "0x" + raw.hex()}


def test_valid_attested_record_prints_journal(tmp_path, attested_record, capsys):
    code, out, err = run(tmp_path, attested_record, capsys=capsys)
    assert code == 0 and err == ""
    shown = json.loads(out)
    assert shown["ok"] and shown["kind"] == "attested" and shown["zero_knowledge"] is False
    assert shown["journal"]["metric"] == "twap" and shown["journal"]["value_f64"] == 1.5e9
    assert shown["journal"]["window_start"] == JOB.window_start


def test_record_nested_in_job_status_payload(tmp_path, attested_record, capsys):
    code, out, _ = run(tmp_path, {"job_id": "x", "proof": attested_record}, capsys=capsys)
    assert code == 0 and json.loads(out)["ok"]


@pytest.mark.parametrize(
    "tamper,check",
    [
        (lambda d: flip(d, "journal"), "claim digest"),
        (lambda d: flip(d, "claim_digest"), "claim digest"),
        (lambda d: flip(d, "seal"), "seal"),
        (lambda d: {**flip(d, "signature"), "seal": d["selector"] + flip(d, "signature")["signature"][2:]}, "signature"),
        (lambda d: {**d, "public_key": "0x" + "11" * 32}, "public key"),
        (lambda d: {**d, "journal": "0x" + bytes.fromhex(d["journal"][2:])[:-4].hex()}, "claim digest"),
    ],
)
def test_tampered_attested_record_fails_with_one_line(tmp_path, attested_record, capsys, tamper, check):
    code, out, err = run(tmp_path, tamper(attested_record), capsys=capsys)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"verify_receipt: FAILED {check}")


def test_forged_journal_with_matching_digest_fails_signature(tmp_path, attested_record, capsys):
    from handler.proofs.claim import claim_digest

    rec = ProofRecord.from_json(attested_record)
    forged = MetricJournal.build(data_commitment=JOB.data_commitment, metric="twap", window_start=JOB.window_start,
                                 window_end=JOB.window_end, value=9.9e9).encode()
    d = {**attested_record, "journal": "0x" + forged.hex(),
         "claim_digest": "0x" + claim_digest(rec.image_id, forged).hex()}  # fmt: skip
    code, _, err = run(tmp_path, d, capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED signature")


def test_explicit_public_key_option(tmp_path, attested_record, capsys):
    code, _, _ = run(tmp_path, attested_record, "--public-key", attested_record["public_key"], capsys=capsys)
    assert code == 0
    code, _, err = run(tmp_path, attested_record, "--public-key", "0x" + "22" * 32, capsys=capsys)
    assert code == 1 and "FAILED public key" in err


def test_groth16_record_from_real_receipt(tmp_path, capsys, settings):
    settings.BONSAI_IMAGE_ID = DO_NOTHING_IMAGE_ID
    settings.BONSAI_SELECTOR = "c27d1bc0"
    raw = (VECTORS / "receipts" / "risc0_v5_groth16_do_nothing.bin").read_bytes()
    rc = parse_receipt(encode_receipt(parse_receipt(raw).with_journal(metric_journal_bytes(JOB))))
    record = ProofRecord(
        kind="groth16", image_id=bytes.fromhex(DO_NOTHING_IMAGE_ID), journal=rc.journal,
        claim_digest=rc.claim_digest(), seal=rc.encoded_seal, selector=rc.selector, receipt=encode_receipt(rc),
    ).to_json()  # fmt: skip
    code, out, err = run(tmp_path, record, capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["zero_knowledge"] is True
    code, _, err = run(tmp_path, flip(record, "receipt", at=100), capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED receipt")
    code, _, err = run(tmp_path, flip(record, "seal", at=10), capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED receipt")
    code, _, err = run(tmp_path, record, "--selector", "bb001d44", capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED selector")
    code, _, err = run(tmp_path, record, "--image-id", "0x" + "33" * 32, capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED image id")


def test_dev_record_verifies_with_warning(tmp_path, capsys):
    record = build_provider("dev").prove(JOB, deadline=time.monotonic() + 1).to_json()
    code, out, _ = run(tmp_path, record, capsys=capsys)
    assert code == 0 and "proves nothing" in json.loads(out)["warning"]


def test_unusable_input_exits_2(tmp_path, capsys):
    code, _, err = run(tmp_path, "{not json", capsys=capsys)
    assert code == 2 and err.count("\n") == 1 and "not JSON" in err
    code, _, err = run(tmp_path, {"kind": "attested"}, capsys=capsys)
    assert code == 1 and "FAILED record format" in err
    try:
        call_command("verify_receipt", str(tmp_path / "missing.json"))
        code = 0
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and "cannot read" in capsys.readouterr().err
