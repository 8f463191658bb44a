"""garaga calldata; needs the optional extra: pip install garaga==1.1.0 --no-deps 'fastecdsa<4'."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "garaga.starknet.groth16_contract_generator.calldata",
    reason="garaga not installed (optional extra: pip install garaga==1.1.0 --no-deps 'fastecdsa<4')",
    exc_type=ImportError,
)

from handler.proofs.coprocessor.starknet import (  # noqa: E402
    garaga_calldata,
    groth16_pairing_check,
    job_request,
    verify_proof_calldata,
)
from handler.proofs.errors import ProofVerificationError  # noqa: E402
from handler.proofs.records import ProofRecord  # noqa: E402
from handler.proofs.risc0.claim import claim_digest  # noqa: E402


def _record(proof: dict) -> ProofRecord:
    seal = bytes.fromhex(proof["seal"][2:])
    image_id = bytes.fromhex(proof["image_id"][2:])
    journal = bytes.fromhex(proof["journal"][2:])
    return ProofRecord(
        kind="groth16",
        image_id=image_id,
        journal=journal,
        claim_digest=claim_digest(image_id, journal),
        seal=seal,
        selector=seal[:4],
    )


def test_garaga_calldata_for_its_risc0_example(garaga_proof):
    rec = _record(garaga_proof)
    assert rec.selector.hex() == "bb001d44" and len(rec.seal) == 260
    cd = garaga_calldata(rec)
    assert len(cd) == 1976 and cd[0] == 1975
    image_felts = [int.from_bytes(rec.image_id[4 * i : 4 * i + 4], "big") for i in range(8)]
    journal_felts = [len(rec.journal)] + list(rec.journal)
    flat = cd[1:]
    i = next(k for k in range(len(flat)) if flat[k : k + 9] == [8] + image_felts)
    assert flat[i + 9 : i + 9 + len(journal_felts)] == journal_felts
    assert garaga_calldata(rec, use_rust=False) == cd
    groth16_pairing_check(rec)


@pytest.mark.parametrize("use_rust", [True, False])
def test_pairing_fails_for_another_journal(garaga_proof, use_rust):
    # the claim is a public input: the same seal does not prove a different journal
    other = _record({**garaga_proof, "journal": "0x" + b"just a simple receipX".hex()})
    with pytest.raises(ProofVerificationError) as ei:
        garaga_calldata(other, use_rust=use_rust)
    assert ei.value.check == "pairing"


def test_verify_proof_calldata_wraps_garaga_output(garaga_proof):
    rec = _record(garaga_proof)
    req = job_request(0xBEEF, 1234)
    full = verify_proof_calldata(rec.to_json(), req)
    assert full[0] == 1976 and full[1] == 1975 and full[-3:] == req and len(full) == 1 + 1976 + 3


def _genuine_vectors() -> list[dict]:
    import json

    from tests.conftest import VECTORS

    return json.loads((VECTORS / "receipts" / "groth16_vectors.json").read_text())


@pytest.mark.parametrize("vector", [v for v in _genuine_vectors() if v["version"] != "V2_2"], ids=lambda v: v["name"])
def test_other_verifier_versions_get_a_clear_no(vector, capfd):
    from handler.proofs.coprocessor.starknet import proof_calldata
    from tests.conftest import groth16_vector_record

    stored = proof_calldata(groth16_vector_record(vector))
    assert stored["error"]["code"] == "calldata_unsupported_version"
    assert vector["version"] in stored["error"]["message"]
    out, err = capfd.readouterr()
    assert "panicked" not in out + err and "backtrace" not in (out + err).lower()
