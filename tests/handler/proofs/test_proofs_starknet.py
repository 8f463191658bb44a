from __future__ import annotations

import time

import pytest

from handler.proofs.coprocessor.journals import CompositionJournal
from handler.proofs.coprocessor.starknet import (
    PITCH_LAKE_V1,
    garaga_calldata,
    job_request,
    job_status_starknet,
    short_string,
    vault_result,
    vault_result_from_journals,
)
from handler.proofs.errors import StarknetCalldataUnavailable
from handler.proofs.journal import MetricJournal, f64_to_fixed_felt
from handler.proofs.providers import DevProofProvider
from handler.proofs.records import ProofInputs

T, R = 1_700_000_000, 30 * 24 * 3600


def test_program_id_constant():
    assert short_string("PITCH_LAKE_V1") == PITCH_LAKE_V1 == 0x50495443485F4C414B455F5631
    assert job_request("0xbeef", 1234, short_string("PITCH_LAKE_V1")) == [0xBEEF, 1234, PITCH_LAKE_V1]
    with pytest.raises(ValueError):
        job_request(2**252, 1)


def test_vault_result_order_and_encoding():
    felts = vault_result((T - 3 * R, T, 2.5e9), (T - R, T, 1.25e9), (T - 3 * R, T, 0.3))
    assert felts == [
        T - 3 * R,
        T,
        2_500_000_000 << 128,
        T - R,
        T,
        (1_250_000_000 << 128),
        T - 3 * R,
        T,
        f64_to_fixed_felt(0.3),
    ]
    assert f64_to_fixed_felt(0.3) == 0x4CCCCCCCCCCCCC000000000000000000  # docs/proofs.md


def _records():
    dev = DevProofProvider()
    specs = {"reserve_price": (T - 3 * R, 2.5e9), "twap": (T - R, 1.25e9), "max_return": (T - 3 * R, 0.3)}
    return {
        m: dev.prove(ProofInputs(f"j-{m}", m, start, T, v, (9,) * 8), deadline=time.monotonic() + 1)
        for m, (start, v) in specs.items()
    }


def test_vault_result_from_journals_matches_composition():
    recs = _records()
    journals = {m: MetricJournal.decode(r.journal) for m, r in recs.items()}
    comp = CompositionJournal.build(
        data_commitment=(9,) * 8,
        start_timestamp=T - 3 * R,
        end_timestamp=T,
        reserve_price=(T - 3 * R, T, 2.5e9),
        twap=(T - R, T, 1.25e9),
        max_return=(T - 3 * R, T, 0.3),
    )
    assert vault_result_from_journals(journals) == vault_result_from_journals(comp) == comp.verifier_data()


def test_job_status_block_for_non_groth16():
    out = job_status_starknet({m: r.to_json() for m, r in _records().items()}, vault_address="0xbeef", timestamp=T)
    assert out["job_request"] == ["0xbeef", hex(T), hex(PITCH_LAKE_V1)]
    assert len(out["verifier_data"]) == 9 and out["verifier_data"][5] == hex(1_250_000_000 << 128)
    assert out["verify_proof_calldata"] is None and "only Groth16" in out["note"]


def test_calldata_refuses_dev_records():
    rec = next(iter(_records().values()))
    with pytest.raises(StarknetCalldataUnavailable, match="never pass"):
        garaga_calldata(rec)
