from __future__ import annotations

import json
import time

import pytest
from django.core.management import call_command

from handler.proofs import django_glue
from handler.proofs.coprocessor.starknet import PITCH_LAKE_V1  # noqa: F401  (import check: no garaga needed)
from handler.proofs.journal import MetricJournal
from handler.proofs.keys import create_private_key_file
from handler.proofs.providers import build_provider, metric_journal_bytes
from handler.proofs.records import ProofInputs, ProofRecord
from handler.proofs.risc0.receipt import encode_receipt, parse_receipt
from tests.conftest import VECTORS, groth16_vector_record

pytestmark = pytest.mark.django_db  # attested records are checked against the key ring in the database

DO_NOTHING_IMAGE_ID = "e0de604acf7c2f7428298bdceb2798f47d6bdca38180746cfc35f692fa546b98"

JOB = ProofInputs("job-1", "twap", 1_700_000_000, 1_700_003_600, 1.5e9, (1, 2, 3, 4, 5, 6, 7, 8))


@pytest.fixture
def key_file(settings, tmp_path):
    settings.PROVER_KEY_FILE = str(tmp_path / "keys" / "prover.pem")
    settings.PROVER_PRIVATE_KEY = ""
    create_private_key_file(settings.PROVER_KEY_FILE)
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
        (
            lambda d: {**flip(d, "signature"), "seal": d["selector"] + flip(d, "signature")["signature"][2:]},
            "signature",
        ),
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
    from handler.proofs.risc0.claim import claim_digest

    rec = ProofRecord.from_json(attested_record)
    forged = MetricJournal.build(
        data_commitment=JOB.data_commitment,
        metric="twap",
        window_start=JOB.window_start,
        window_end=JOB.window_end,
        value=9.9e9,
    ).encode()
    d = {
        **attested_record,
        "journal": "0x" + forged.hex(),
        "claim_digest": "0x" + claim_digest(rec.image_id, forged).hex(),
    }
    code, _, err = run(tmp_path, d, capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED signature")


def test_explicit_public_key_option(tmp_path, attested_record, capsys):
    code, _, _ = run(tmp_path, attested_record, "--public-key", attested_record["public_key"], capsys=capsys)
    assert code == 0
    code, _, err = run(tmp_path, attested_record, "--public-key", "0x" + "22" * 32, capsys=capsys)
    assert code == 1 and "FAILED public key" in err


GENUINE = json.loads((VECTORS / "receipts" / "groth16_vectors.json").read_text())


def with_claim(d: dict) -> dict:
    from handler.proofs.risc0.claim import claim_digest

    digest = claim_digest(bytes.fromhex(d["image_id"][2:]), bytes.fromhex(d["journal"][2:]))
    return {**d, "claim_digest": "0x" + digest.hex()}


@pytest.mark.parametrize("vector", GENUINE, ids=[v["name"] for v in GENUINE])
def test_genuine_groth16_records_of_every_version_verify(tmp_path, capsys, vector):
    record = groth16_vector_record(vector)
    code, out, err = run(tmp_path, record, "--image-id", record["image_id"], capsys=capsys)
    assert code == 0 and err == ""
    shown = json.loads(out)
    assert shown["ok"] and shown["zero_knowledge"] and shown["verifier"]["version"] == vector["version"]
    assert shown["image_id_pinned"] is True


@pytest.mark.parametrize("vector", GENUINE, ids=[v["name"] for v in GENUINE])
def test_genuine_receipts_of_other_programs_are_refused_naming_the_image(tmp_path, capsys, vector):
    record = groth16_vector_record(vector)
    code, out, err = run(tmp_path, record, capsys=capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("verify_receipt: FAILED image id: " + record["image_id"]), err
    code, out, err = run(tmp_path, record, "--allow-unknown-image", capsys=capsys)
    assert code == 0 and err == ""
    shown = json.loads(out)
    assert shown["image_id_pinned"] is False and "not pinned" in shown["warning"]


def test_a_program_of_the_configured_profile_is_known(tmp_path, capsys, settings):
    record = groth16_vector_record(V22)
    manifest = tmp_path / "profile.json"
    programs = {"proof-composition-twap-maxreturn-reserveprice-floating-hashing": {"image_id": record["image_id"]}}
    manifest.write_text(json.dumps({"name": "test", "programs": programs}))
    settings.COPROCESSOR_PROFILE = str(manifest)
    code, out, err = run(tmp_path, record, capsys=capsys)
    assert code == 0 and err == "", err
    shown = json.loads(out)
    assert shown["image_id_pinned"] is True
    assert shown["program"] == "proof-composition-twap-maxreturn-reserveprice-floating-hashing"


@pytest.mark.parametrize(
    "name", ["risc0_v5_groth16_do_nothing.bin", "pitchlake_coprocessor_groth16_receipt.bin", "garaga_proof_risc0.json"]
)
def test_real_receipt_files_verify(tmp_path, capsys, name):
    code = 0
    try:
        call_command("verify_receipt", str(VECTORS / "receipts" / name), "--allow-unknown-image")
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 0 and err == "", err
    shown = json.loads(out)
    assert shown["verifier"]["pairing"] == "ok"
    if name.startswith("pitchlake"):
        assert shown["journal"]["type"] == "composition_v1" and shown["journal"]["start_timestamp"] == 0x63B0CD00


V22 = next(v for v in GENUINE if v["version"] == "V2_2")


def _forged_seal(d: dict, seal: bytes) -> dict:
    return {**d, "seal": d["selector"] + seal.hex()}


def _off_curve(d: dict) -> dict:
    seal = bytearray(bytes.fromhex(d["seal"][10:]))
    seal[31] ^= 1  # A.x + 1: (x, y) leaves the curve
    return _forged_seal(d, bytes(seal))


FORGERIES = {
    "random seal": (lambda d: _forged_seal(d, bytes(range(256))), "seal"),
    "seal of another proof": (lambda d: _forged_seal(d, bytes.fromhex(GENUINE[1]["seal"][-512:])), "pairing"),
    "swapped journal": (lambda d: with_claim({**d, "journal": "0x" + metric_journal_bytes(JOB).hex()}), "pairing"),
    "swapped image id": (lambda d: with_claim({**d, "image_id": "0x" + DO_NOTHING_IMAGE_ID}), "pairing"),
    "journal without claim update": (lambda d: {**d, "journal": "0x00"}, "claim digest"),
    "off-curve point": (_off_curve, "seal"),
    "coordinate above the modulus": (lambda d: _forged_seal(d, b"\xff" * 32 + bytes.fromhex(d["seal"][74:])), "seal"),
    "selector of another version": (
        lambda d: {**d, "selector": "0x9f39696c", "seal": "0x9f39696c" + d["seal"][10:]},
        "pairing",
    ),
    "unknown selector": (lambda d: {**d, "selector": "0x01020304", "seal": "0x01020304" + d["seal"][10:]}, "selector"),
    "short seal": (lambda d: {**d, "seal": d["seal"][:-2]}, "seal"),
}


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_forged_groth16_records_fail_naming_the_check(tmp_path, capsys, forgery):
    tamper, check = FORGERIES[forgery]
    code, out, err = run(tmp_path, tamper(groth16_vector_record(V22)), "--allow-unknown-image", capsys=capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"verify_receipt: FAILED {check}"), err
    assert "Traceback" not in err and "panicked" not in err


def test_groth16_pins(tmp_path, capsys):
    record = groth16_vector_record(V22)
    code, _, err = run(tmp_path, record, "--selector", "c27d1bc0", "--allow-unknown-image", capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED selector")
    code, _, err = run(tmp_path, record, "--image-id", "0x" + "33" * 32, capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED image id")
    code, out, _ = run(tmp_path, record, "--image-id", record["image_id"], "--selector", "bb001d44", capsys=capsys)
    assert code == 0 and json.loads(out)["image_id_pinned"] is True


def test_embedded_receipt_must_match_the_record(tmp_path, capsys):
    raw = (VECTORS / "receipts" / "risc0_v5_groth16_do_nothing.bin").read_bytes()
    rc = parse_receipt(raw)
    record = ProofRecord.from_groth16_receipt(rc, raw, image_id=bytes.fromhex(DO_NOTHING_IMAGE_ID)).to_json()
    pin = ("--image-id", DO_NOTHING_IMAGE_ID)
    code, _, err = run(tmp_path, record, *pin, capsys=capsys)
    assert code == 0, err
    code, _, err = run(tmp_path, flip(record, "receipt", at=100), *pin, capsys=capsys)
    assert code == 1 and err.startswith("verify_receipt: FAILED receipt")
    forged = encode_receipt(rc.with_journal(metric_journal_bytes(JOB)))
    code, _, err = run(
        tmp_path,
        with_claim({**record, "receipt": "0x" + forged.hex(), "journal": "0x" + metric_journal_bytes(JOB).hex()}),
        *pin,
        capsys=capsys,
    )
    assert code == 1 and err.startswith("verify_receipt: FAILED pairing")


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
