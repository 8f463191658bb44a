"""The Pitch Lake coprocessor's guest formats: serde layouts, strict decoding, the Bonsai provider's
per-metric guests, and the coprocessor's recorded journal."""

from __future__ import annotations

import json
import struct
import time

import pytest
from fake_bonsai import FakeBonsai, FakeBonsaiServer
from proofs_support import DO_NOTHING_IMAGE_ID, RECEIPTS, test_profile

from handler.proofs.coprocessor.guests import (
    CalculatePtPt1ErrorBoundFloatingInput,
    MaxReturnInput,
    MaxReturnJournal,
    ProofCompositionInput,
    SimulatePriceVerifyPositionInput,
    TwapErrorBoundInput,
)
from handler.proofs.coprocessor.journals import CompositionJournalV1
from handler.proofs.errors import JournalDecodeError, ProofVerificationError, ReceiptRejected
from handler.proofs.journal import fixed_felt_to_f64
from handler.proofs.programs import decode_any_journal
from handler.proofs.providers import build_provider
from handler.proofs.records import ProofInputs
from handler.proofs.risc0.receipt import encode_receipt, parse_receipt
from handler.proofs.verify import verify_record


def word(n: int) -> bytes:
    return struct.pack("<I", n)


def f64(x: float) -> bytes:
    return struct.pack("<d", x)  # two words, low first


def test_vec_f64_and_struct_layout():
    got = TwapErrorBoundInput((1.0, 2.5), 1.0, 1.75).encode()
    assert got == word(2) + f64(1.0) + f64(2.5) + f64(1.0) + f64(1.75)
    assert TwapErrorBoundInput.decode(got) == TwapErrorBoundInput((1.0, 2.5), 1.0, 1.75)
    assert MaxReturnJournal.decode(MaxReturnInput((3.0,)).encode() + f64(0.25)) == MaxReturnJournal((3.0,), 0.25)


def test_dvector_is_its_storage_and_usize_is_u64():
    got = CalculatePtPt1ErrorBoundFloatingInput((0.5,), (1.0, 2.0), (), 1e-5).encode()
    dvec = lambda xs: word(len(xs)) + b"".join(f64(x) for x in xs) + struct.pack("<Q", len(xs))  # noqa: E731
    assert got == dvec([0.5]) + dvec([1.0, 2.0]) + dvec([]) + f64(1e-5)
    sim = SimulatePriceVerifyPositionInput(1, 2, (0.1,), (), (), 0.05, (), 720, 4000, (), (), 0.0, 0.0, 3.0, 5.0, 720)
    raw = sim.encode()
    assert raw[:16] == struct.pack("<qq", 1, 2)
    assert raw[-8:] == struct.pack("<Q", 720)  # data_length: usize
    assert SimulatePriceVerifyPositionInput.decode(raw) == sim


@pytest.mark.parametrize("bad", [b"\0" * 4, TwapErrorBoundInput((1.0,), 1.0, 1.0).encode() + b"\0" * 4])
def test_strict_decoding(bad):
    with pytest.raises(JournalDecodeError):
        TwapErrorBoundInput.decode(bad)
    wrong_nrows = word(1) + f64(1.0) + struct.pack("<Q", 2)
    with pytest.raises(JournalDecodeError, match="nrows"):
        CalculatePtPt1ErrorBoundFloatingInput.decode(wrong_nrows * 3 + f64(0.0))


def test_composition_input_round_trip():
    ci = ProofCompositionInput(
        (1.0, 2.0),
        tuple(range(8)),
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        (0.5,),
        (0.1,),
        (0.2,),
        0.05,
        (0.3,),
        720,
        4000,
        (0.4,) * 24,
        (1.5,),
        0.01,
        2.0,
        3.5,
        1e-5,
        5.0,
        1.0,
        1.25,
        0.75,
    )
    assert ProofCompositionInput.decode(ci.encode()) == ci


def test_the_coprocessors_recorded_journal_decodes():
    vector = next(
        v for v in json.loads((RECEIPTS / "groth16_vectors.json").read_text()) if v["name"].startswith("pitchlake")
    )
    journal = bytes.fromhex(vector["journal"])
    decoded = decode_any_journal(journal)
    assert isinstance(decoded, CompositionJournalV1)
    assert decoded.data_8_months_hash[0] == 0x12345678 and (decoded.start_timestamp, decoded.end_timestamp) == (
        0x63B0CD00,
        0x65920080,
    )
    assert decoded.encode() == journal
    felts = decoded.verifier_data()
    assert felts[0::3] == [0x63B0CD00] * 3 and felts[2] == int(decoded.reserve_price, 16)
    values = {
        k: fixed_felt_to_f64(int(getattr(decoded, k), 16))
        for k in ("reserve_price", "twap_result", "max_return", "twap_tolerance")
    }
    # the values the Pitch Lake verifier's Cairo fixtures expect from this journal
    assert values == pytest.approx(
        {"reserve_price": 2.5, "twap_result": 1.25, "max_return": 0.3, "twap_tolerance": 0.05}, rel=1e-12
    )
    receipt = parse_receipt((RECEIPTS / "pitchlake_coprocessor_groth16_receipt.bin").read_bytes())
    assert receipt.journal == journal


# ---------------------------------------------------------------- provider with the coprocessor's guests

SERIES = (1.5e9, 1.7e9, 1.6e9, 1.9e9)


def job(metric: str, value: float) -> ProofInputs:
    return ProofInputs(
        job_id="j",
        metric=metric,
        window_start=0,
        window_end=4 * 3600,
        value=value,
        data_commitment=(1,) * 8,
        series_timestamps=(0, 3600, 7200, 10800),
        series_values=SERIES,
    )


@pytest.fixture
def bento():
    real = (RECEIPTS / "risc0_v5_groth16_do_nothing.bin").read_bytes()
    state = FakeBonsai(receipt_bytes=real)
    state.images[DO_NOTHING_IMAGE_ID.hex()] = b"uploaded earlier"
    with FakeBonsaiServer(state) as running:
        running.real = real
        yield running


def provider(state: FakeBonsai, private_key=None):
    return build_provider(
        "bonsai",
        api_url=state.api_url,
        api_key=state.api_key,
        profile=test_profile(),
        private_key=private_key,
        risc0_version="2.3.2",
        poll_interval=0.01,
        request_timeout=5,
        selector="c27d1bc0",
        backoff_base=0.01,
        stop_margin=0.1,
        twap_image_id=DO_NOTHING_IMAGE_ID.hex(),
        max_return_image_id=DO_NOTHING_IMAGE_ID.hex(),
    )


def test_twap_job_goes_to_the_twap_guest_with_the_hosts_input(bento):
    committed = lambda data: encode_receipt(parse_receipt(bento.real).with_journal(data))  # noqa: E731
    bento.receipt_for_input = committed  # a guest that commits its input, as twap-error-bound-floating does
    record = provider(bento).prove(job("twap", 1.675e9), deadline=time.monotonic() + 10)
    expected = TwapErrorBoundInput(SERIES, 1.0, 1.675e9).encode()
    assert list(bento.inputs.values()) == [expected] and record.journal == expected
    assert record.image_id == DO_NOTHING_IMAGE_ID and record.stats["guest"] == "twap-error-bound-floating"
    # the seal is the do-nothing run's: the pairing refuses it whatever the journal
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(
            record.to_json(),
            expected_image_id=frozenset({DO_NOTHING_IMAGE_ID}),
            journal_decoders={DO_NOTHING_IMAGE_ID: TwapErrorBoundInput.decode},
        )
    assert ei.value.check == "pairing"
    bento.receipt_for_input = lambda data: committed(TwapErrorBoundInput(SERIES, 1.0, 9.0).encode())
    with pytest.raises(ReceiptRejected, match="TwapErrorBoundInput"):
        provider(bento).prove(job("twap", 1.675e9), deadline=time.monotonic() + 10)


def test_max_return_job_checks_the_guests_own_value(bento):
    def guest(value):
        return lambda data: encode_receipt(parse_receipt(bento.real).with_journal(data + f64(value)))

    bento.receipt_for_input = guest(0.25)
    record = provider(bento).prove(job("max_return", 0.25), deadline=time.monotonic() + 10)
    assert list(bento.inputs.values())[-1] == MaxReturnInput(SERIES).encode()
    assert MaxReturnJournal.decode(record.journal) == MaxReturnJournal(SERIES, 0.25)
    bento.receipt_for_input = guest(0.26)
    with pytest.raises(ReceiptRejected, match="computed 0.26"):
        provider(bento).prove(job("max_return", 0.25), deadline=time.monotonic() + 10)


def test_a_reserve_price_that_is_no_vault_round_gets_an_attested_record_or_none(bento, tmp_path):
    from handler.proofs.errors import ProofConfigurationError
    from handler.proofs.keys import create_private_key_file

    p = provider(bento)
    assert p.guest_for("reserve_price") is None  # no program proves it
    assert p.image_ids == {DO_NOTHING_IMAGE_ID, *test_profile().image_ids.values()}
    with pytest.raises(ProofConfigurationError, match="not a vault round"):
        p.prove(job("reserve_price", 3.0), deadline=time.monotonic() + 5)
    assert bento.calls("POST", "sessions/create") == []
    key = create_private_key_file(tmp_path / "k.pem")[0]
    p = provider(bento, private_key=key)
    p.fallback.run_checks = False  # the job's claims are not a real fit here
    record = p.prove(job("reserve_price", 3.0), deadline=time.monotonic() + 5)
    assert record.kind == "attested"


# ---------------------------------------------------------------- one journal format for every provider


@pytest.mark.parametrize("backend", ["dev", "attested"])
def test_dev_and_attested_write_the_coprocessors_journals_in_pitchlake_format(backend, tmp_path):
    from handler.proofs.keys import create_private_key_file

    opts = {"journal_format": "pitchlake"}
    if backend == "attested":
        opts.update(private_key=create_private_key_file(tmp_path / "k.pem")[0], run_checks=False)
    p = build_provider(backend, **opts)
    twap = p.prove(job("twap", 1.675e9), deadline=time.monotonic() + 5)
    assert twap.journal == TwapErrorBoundInput(SERIES, 1.0, 1.675e9).encode()
    max_return = p.prove(job("max_return", 0.25), deadline=time.monotonic() + 5)
    assert MaxReturnJournal.decode(max_return.journal) == MaxReturnJournal(SERIES, 0.25)
    reserve = p.prove(job("reserve_price", 3.0), deadline=time.monotonic() + 5)
    key = getattr(p, "public_key", None)
    assert verify_record(twap.to_json(), key) == TwapErrorBoundInput(SERIES, 1.0, 1.675e9)
    assert verify_record(max_return.to_json(), key).max_return == 0.25
    assert verify_record(reserve.to_json(), key).metric == "reserve_price"  # the reserve price keeps the metric journal
    assert twap.image_id != build_provider("dev").prove(job("twap", 1.675e9), deadline=time.monotonic() + 5).image_id


def test_settings_keep_the_journal_format_and_the_guest_ids_consistent(tmp_path):
    import os
    import subprocess
    import sys

    from proofs_support import REPO

    base = {k: v for k, v in os.environ.items() if not k.startswith(("BONSAI_", "PROOF_JOURNAL", "PROVER_BACKEND"))}
    partial = tmp_path / "partial.json"  # a profile that names one program only
    partial.write_text('{"programs": {"hashing-felts": {"image_id": "' + "ab" * 32 + '"}}}')
    cases = [
        ({"BONSAI_TWAP_IMAGE_ID": "ab" * 32}, "need PROOF_JOURNAL_FORMAT=pitchlake"),
        (
            {
                "PROOF_JOURNAL_FORMAT": "pitchlake",
                "PROVER_BACKEND": "bonsai",
                "BONSAI_API_URL": "http://127.0.0.1:1",
                "BONSAI_API_KEY": "k",
            },
            "needs BONSAI_TWAP_IMAGE_ID",
        ),
        ({"BONSAI_IMAGE_ID": "cd" * 32}, "'fossil' guest contract, which has no program"),
        (
            {"PROVER_BACKEND": "bonsai", "BONSAI_API_URL": "http://127.0.0.1:1", "BONSAI_API_KEY": "k"},
            "needs BONSAI_API_URL, BONSAI_API_KEY and COPROCESSOR_PROFILE",
        ),
        (
            {
                "PROVER_BACKEND": "bonsai",
                "BONSAI_API_URL": "http://127.0.0.1:1",
                "BONSAI_API_KEY": "k",
                "COPROCESSOR_PROFILE": str(partial),
            },
            "no image id for",
        ),
    ]
    for env, message in cases:
        proc = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=REPO,
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-500:]
