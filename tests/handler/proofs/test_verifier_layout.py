"""How the coprocessor's Starknet verifier reads a journal, on its own recorded bytes
(tests/data/pitchlake_verifier_fixture.json, from pitchlake_verifier/src/fixtures.cairo)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from proofs_support import RECEIPTS, VECTORS

from handler.pricing import float_to_felt
from handler.pricing.vault import POC_SHAPE, price_round, values_from_felts
from handler.proofs.coprocessor.inputs import build_round_inputs, composition_expectations
from handler.proofs.coprocessor.journals import CompositionJournalV1
from handler.proofs.coprocessor.verifier import decode_like_the_verifier
from handler.proofs.errors import JournalDecodeError
from handler.proofs.risc0.receipt import parse_receipt

FIXTURE = json.loads((VECTORS / "pitchlake_verifier_fixture.json").read_text())


def test_the_verifiers_fixture_decodes_as_the_verifier_decodes_it():
    raw = bytes.fromhex(FIXTURE["journal_bytes"])
    assert decode_like_the_verifier(raw) == FIXTURE["journal_decoded"]
    v1 = CompositionJournalV1.decode(raw)
    assert v1.start_timestamp == FIXTURE["journal_decoded"]["start_timestamp"]
    assert int(v1.max_return, 16) == FIXTURE["journal_decoded"]["max_return"]


def test_the_recorded_groth16_proof_commits_the_verifiers_fixture():
    receipt = parse_receipt((RECEIPTS / "pitchlake_coprocessor_groth16_receipt.bin").read_bytes())
    assert receipt.journal.hex() == FIXTURE["journal_bytes"]


def test_the_verifier_misreads_the_16_field_journal_the_composition_commits():
    rows = np.loadtxt(VECTORS / "max_return_input_hourly_avg_base_fee.csv", delimiter=",", skiprows=1)[:1440]
    felts = [float_to_felt(v) for v in rows[:, 1]]
    vault_round = price_round(values_from_felts(felts), end_timestamp=int(rows[-1, 0]) + 3600, seed=3)
    journal = composition_expectations(build_round_inputs(vault_round, felts).composition, POC_SHAPE).journal
    try:
        read = decode_like_the_verifier(journal.encode())
    except JournalDecodeError:
        return  # the verifier's unwrap panics: the proof cannot settle
    assert read["reserve_price"] != int(journal.reserve_price, 16)


def test_short_journals_are_refused():
    with pytest.raises(JournalDecodeError):
        decode_like_the_verifier(b"\0" * 100)
