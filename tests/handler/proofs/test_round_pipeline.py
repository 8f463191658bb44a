"""A vault round through an enforcing Bento-compatible server (fake_bento): seven sub-proofs, the
composition over their receipts, its Groth16 receipt; and the ways it must fail."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from fake_bento import Bento, BentoServer, stand_in_elf
from proofs_support import COPROCESSOR_TEST_IMAGE_IDS, VECTORS

from handler.pricing import float_to_felt
from handler.pricing.vault import POC_SHAPE, price_round, values_from_felts
from handler.proofs.coprocessor.checks import precheck_round
from handler.proofs.coprocessor.guests import AddTwap7dErrorBoundFloatingInput
from handler.proofs.coprocessor.inputs import (
    COMPOSITION,
    PROGRAMS,
    SUB_PROGRAMS,
    TWAP_7D,
    RoundInputs,
    build_round_inputs,
    composition_expectations,
)
from handler.proofs.coprocessor.journals import CompositionJournal
from handler.proofs.errors import ProgramCheckFailed, ProofVerificationError
from handler.proofs.providers.bonsai_client import BonsaiClient
from handler.proofs.providers.round_prover import ProgramSet, RoundProver
from handler.proofs.risc0.receipt import parse_receipt
from handler.proofs.verify import verify_record

IMAGE_IDS = COPROCESSOR_TEST_IMAGE_IDS


@pytest.fixture(scope="module")
def round_inputs() -> RoundInputs:
    rows = np.loadtxt(VECTORS / "max_return_input_hourly_avg_base_fee.csv", delimiter=",", skiprows=1)[1440:2880]
    felts = [float_to_felt(v) for v in rows[:, 1]]
    vault_round = price_round(values_from_felts(felts), end_timestamp=int(rows[-1, 0]) + 3600, seed=7)
    return build_round_inputs(vault_round, felts)


@pytest.fixture()
def bento(do_nothing_receipt):
    state = Bento(POC_SHAPE, IMAGE_IDS, parse_receipt(do_nothing_receipt).verifier_parameters)
    with BentoServer(state) as running:
        yield running


def _prover(bento: Bento) -> RoundProver:
    client = BonsaiClient(bento.api_url, bento.api_key, "3.0.0", request_timeout=10, max_retries=1)
    programs = ProgramSet(POC_SHAPE, IMAGE_IDS, {p: "" for p in PROGRAMS})
    prover = RoundProver(client, programs, poll_interval=0.01, session_time_limit=60)
    prover.programs = dataclasses.replace(programs)
    return prover


def _with_elves(prover: RoundProver, tmp_path) -> RoundProver:
    paths = {}
    for p in PROGRAMS:
        path = tmp_path / f"{p}.elf"
        path.write_bytes(stand_in_elf(p))
        paths[p] = str(path)
    prover.programs = ProgramSet(POC_SHAPE, IMAGE_IDS, paths)
    return prover


def test_a_round_proves_through_the_composition(bento, round_inputs, tmp_path):
    proof = _with_elves(_prover(bento), tmp_path).prove(round_inputs, deadline=time.monotonic() + 120)
    programs = [p for p, _ in bento.created]
    assert sorted(programs[:7]) == sorted(SUB_PROGRAMS) and programs[7] == COMPOSITION
    assert len(bento.created[7][1]) == 7  # the composition named all seven receipts
    journal = CompositionJournal.decode(proof.record.journal)
    expected = composition_expectations(round_inputs.composition, POC_SHAPE).journal
    assert journal == expected
    c = round_inputs.composition
    assert int(journal.reserve_price, 16) >> 128 == int(c.reserve_price)
    assert (journal.twap_start_timestamp, journal.twap_end_timestamp) == (c.start_timestamp, c.end_timestamp)
    assert journal.max_return_end_timestamp - journal.max_return_start_timestamp == 1440 * 3600
    assert proof.record.image_id == IMAGE_IDS[COMPOSITION]


def test_the_test_servers_seal_is_not_a_proof(bento, round_inputs, tmp_path):
    proof = _with_elves(_prover(bento), tmp_path).prove(round_inputs, deadline=time.monotonic() + 120)
    with pytest.raises(ProofVerificationError) as err:
        verify_record(proof.record.to_json(), expected_image_id=IMAGE_IDS[COMPOSITION], journal_required=False)
    assert err.value.check in ("seal", "pairing")  # not points of a proof, or not one that pairs


def test_a_sub_receipt_with_another_journal_fails_naming_the_program(bento, round_inputs, tmp_path):
    bento.tamper[TWAP_7D] = b"\0" * 8
    with pytest.raises(ProgramCheckFailed) as err:
        _with_elves(_prover(bento), tmp_path).prove(round_inputs, deadline=time.monotonic() + 120)
    assert err.value.program == TWAP_7D and err.value.field == "journal"
    assert err.value.code == "program_failed:twap_7d"
    assert COMPOSITION not in [p for p, _ in bento.created]


def test_a_perturbed_round_fails_before_any_session(bento, round_inputs, tmp_path):
    twap_7d = list(round_inputs.composition.twap_7d)
    twap_7d[100] *= 1.001
    composition = dataclasses.replace(round_inputs.composition, twap_7d=tuple(twap_7d))
    by_program = dict(round_inputs.by_program)
    by_program[COMPOSITION] = composition
    by_program[TWAP_7D] = AddTwap7dErrorBoundFloatingInput(
        composition.data_8_months[-720:], composition.twap_7d, composition.floating_point_tolerance
    )
    with pytest.raises(ProgramCheckFailed) as err:
        _with_elves(_prover(bento), tmp_path).prove(RoundInputs(by_program, POC_SHAPE), deadline=time.monotonic() + 120)
    assert (err.value.program, err.value.field) == (TWAP_7D, "twap_7d")
    assert bento.created == []


def test_the_precheck_passes_an_honest_round(round_inputs):
    assert [r.program for r in precheck_round(round_inputs, POC_SHAPE) if not r.ok] == []


def test_an_unknown_image_is_refused_by_the_server(bento, round_inputs):
    prover = _prover(bento)  # no ELF: the server does not have the images
    with pytest.raises(Exception) as err:
        prover.prove(round_inputs, deadline=time.monotonic() + 30)
    assert "ELF" in str(err.value) or "image" in str(err.value).lower()
