"""BN254 Groth16 seal verification on the real receipts of every verifier version, with both engines."""

from __future__ import annotations

import json

import pytest
from proofs_support import RECEIPTS

from handler.proofs.errors import ProofVerificationError
from handler.proofs.risc0 import groth16
from handler.proofs.risc0 import params as risc0_params

VECTORS = json.loads((RECEIPTS / "groth16_vectors.json").read_text())
CONTROL = json.loads((RECEIPTS / "control_roots.json").read_text())
ENGINES = ["auto", "py_ecc"]


def test_version_table_is_risc0_ethereums():
    for entry in CONTROL["control_roots"]:
        version = risc0_params.BY_NAME[entry["version"]]
        assert version.control_root.hex() == entry["control_root"]
        assert version.bn254_control_id == int(entry["bn254_control_id_solidity"], 16)
        assert version.verifier_parameters.hex() == CONTROL["groth16_verifier_parameters"][entry["version"]]
    vk = json.loads((RECEIPTS / "garaga_vk_risc0.json").read_text())["verifying_key"]
    assert (int(vk["alpha_g1"]["x"]), int(vk["alpha_g1"]["y"])) == risc0_params.ALPHA_G1
    assert tuple((int(p["x"]), int(p["y"])) for p in vk["ic"]) == risc0_params.IC
    assert risc0_params.DELTA_G2[0] == tuple(int(c) for c in vk["delta_g2"]["x"])


def test_public_inputs_split_digests_little_endian():
    v = risc0_params.BY_NAME["V2_2"]
    digest = bytes(range(32))
    x = int.from_bytes(digest, "little")
    assert groth16.public_inputs(v, digest)[2:] == [x % 2**128, x >> 128, v.bn254_control_id]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_every_real_receipt_verifies_and_a_changed_claim_does_not(vector, engine):
    version = risc0_params.BY_NAME[vector["version"]]
    seal = version.selector + bytes.fromhex(vector["seal"])[-256:]
    digest = bytes.fromhex(vector["claim_digest"])
    assert groth16.verify_seal(seal, digest, engine=engine) == version
    other = bytes([digest[0] ^ 1]) + digest[1:]
    with pytest.raises(ProofVerificationError) as ei:
        groth16.verify_seal(seal, other, engine=engine)
    assert ei.value.check == "pairing"


def test_a_bare_seal_finds_its_version():
    v12 = next(v for v in VECTORS if v["version"] == "V1_2")
    assert groth16.find_version(bytes.fromhex(v12["seal"])[-256:], bytes.fromhex(v12["claim_digest"])).name == "V1_2"


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda s: bytes(32) + s[32:], "point A is not on the BN254 curve"),
        (lambda s: s[:64] + b"\x01" + s[65:], "B"),
        (
            lambda s: s[:192] + (groth16.FIELD_MODULUS).to_bytes(32, "big") + s[224:],
            "C.x is not below the BN254 field modulus",
        ),
        (lambda s: s[:-1], "255 bytes"),
    ],
)
def test_malformed_points_are_seal_failures(mutate, needle):
    v = next(v for v in VECTORS if v["version"] == "V5_0")
    seal = bytes.fromhex(v["seal"])[-256:]
    with pytest.raises(ProofVerificationError) as ei:
        groth16.verify_raw_seal(mutate(seal), bytes.fromhex(v["claim_digest"]), risc0_params.BY_NAME["V5_0"])
    assert ei.value.check == "seal" and needle in str(ei.value)
