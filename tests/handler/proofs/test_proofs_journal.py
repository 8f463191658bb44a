from __future__ import annotations

import struct

import pytest

from handler.proofs.coprocessor.journals import CompositionJournal
from handler.proofs.errors import JournalDecodeError
from handler.proofs.journal import MetricJournal, f64_to_fixed_felt, f64_to_fixed_hex, fixed_felt_to_f64
from handler.proofs.risc0.serde import SerdeReader, SerdeWriter

COMMIT = (0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x55555555, 0x66666666, 0x77777777, 0xDEADBEEF)


def test_fixed_hex_matches_guest_vectors(felt_vectors):
    cases = felt_vectors["f64_to_fixed_hex"]["vectors"]
    assert cases
    for case in cases:
        assert f64_to_fixed_hex(case["x"]) == case["expected_hex"]
    for case in felt_vectors["f64_to_fixed_hex"]["unit_tests"]["cases"]:
        felt = f64_to_fixed_felt(case["x"])
        assert felt >> 128 == case["high"]
        if "low" in case:
            assert felt & ((1 << 128) - 1) == case["low"]


def test_fixed_saturates_and_rejects_overflow():
    assert f64_to_fixed_felt(-3.5) == 0
    with pytest.raises(ValueError):  # the guest's cast would give 0; we never encode a NaN result
        f64_to_fixed_felt(float("nan"))
    with pytest.raises(ValueError):
        f64_to_fixed_felt(2.0**123)


def test_felt_to_f64_vectors(felt_vectors):
    v = felt_vectors["felt_to_f64"]["vectors"][0]
    assert fixed_felt_to_f64(int(v["felt_hex"], 16)) == pytest.approx(v["expected_approx"], abs=v["abs_tol"])
    for pair in felt_vectors["hourly_avg_db_vs_onchain"]["pairs"]:
        assert fixed_felt_to_f64(int(pair["onchain_felt"], 16)) == pair["felt_to_f64"]


def test_serde_primitive_layout():
    b = SerdeWriter().u32(7).i64(-2).f64(1.0).string("abcde").u32_array([1, 2]).bytes()
    assert b[:4] == struct.pack("<I", 7)
    # i64 -2: two words, low word first
    assert b[4:12] == struct.pack("<II", 0xFFFFFFFE, 0xFFFFFFFF)
    # f64 1.0 bits 0x3FF0000000000000: low word first
    assert b[12:20] == struct.pack("<II", 0, 0x3FF00000)
    # string: length word, bytes, zero pad to 4
    assert b[20:32] == struct.pack("<I", 5) + b"abcde\0\0\0"
    assert b[32:] == struct.pack("<II", 1, 2)
    r = SerdeReader(b)
    assert (r.u32(), r.i64(), r.f64(), r.string(), r.u32_array(2)) == (7, -2, 1.0, "abcde", (1, 2))
    r.finish()


def test_metric_journal_round_trip_and_layout():
    j = MetricJournal.build(
        data_commitment=COMMIT, metric="twap", window_start=1_700_000_000, window_end=1_702_592_000, value=1.5e10 + 0.25
    )
    b = j.encode()
    assert MetricJournal.decode(b) == j
    assert b[:32] == b"".join(struct.pack("<I", w) for w in COMMIT)
    assert b[32:36] == struct.pack("<I", 4) and b[36:40] == b"twap"
    assert j.value == "0x" + format(15_000_000_000, "032x") + "4" + "0" * 31
    assert len(b) == 32 + 8 + 8 + 8 + 4 + 68 + 8


def test_metric_journal_rejects_missing_and_trailing_bytes():
    b = MetricJournal.build(
        data_commitment=COMMIT, metric="max_return", window_start=1, window_end=2, value=1.5
    ).encode()
    with pytest.raises(JournalDecodeError, match="trailing"):
        MetricJournal.decode(b + b"\0\0\0\0")
    with pytest.raises(JournalDecodeError, match="ends early"):
        MetricJournal.decode(b[:-4])
    with pytest.raises(JournalDecodeError, match="multiple of 4"):
        MetricJournal.decode(b[:-1])


def test_metric_journal_rejects_inconsistent_value():
    j = MetricJournal.build(data_commitment=COMMIT, metric="twap", window_start=1, window_end=2, value=2.5)
    bad = MetricJournal(j.data_commitment, j.metric, j.window_start, j.window_end, f64_to_fixed_hex(2.75), 2.5)
    with pytest.raises(JournalDecodeError, match="value"):
        MetricJournal.decode(bad.encode())


def _reference_composition_bytes() -> tuple[bytes, dict]:
    """Hand-written 16-field ProofCompositionOutput in risc0 serde, independent of the encoder."""
    hx = {
        "reserve_price": "0x" + format((2_500_000_000 << 128) | (1 << 127), "064x"),
        "twap_result": "0x" + format(1_000_000_000 << 128, "064x"),
        "max_return": "0x000000000000000000000000000000000ccccccccccccd000000000000000000",
        "floating_point_tolerance": "0x000000000000000000000000000000000000a7c5ac471b478800000000000000",
        "reserve_price_tolerance": "0x0000000000000000000000000000000500000000000000000000000000000000",
        "twap_tolerance": "0x0000000000000000000000000000000100000000000000000000000000000000",
        "gradient_tolerance": "0x000000000000000000000000000000000ccccccccccccd000000000000000000",
    }
    ts = {
        "start_timestamp": 1_000,
        "end_timestamp": 9_000,
        "reserve_price_start_timestamp": 1_000,
        "reserve_price_end_timestamp": 9_000,
        "twap_start_timestamp": 7_000,
        "twap_end_timestamp": 9_000,
        "max_return_start_timestamp": -5,
        "max_return_end_timestamp": 9_000,
    }
    order = [
        "start_timestamp",
        "end_timestamp",
        "reserve_price_start_timestamp",
        "reserve_price_end_timestamp",
        "reserve_price",
        "twap_start_timestamp",
        "twap_end_timestamp",
        "twap_result",
        "max_return_start_timestamp",
        "max_return_end_timestamp",
        "max_return",
        "floating_point_tolerance",
        "reserve_price_tolerance",
        "twap_tolerance",
        "gradient_tolerance",
    ]
    out = b"".join(struct.pack("<I", w) for w in COMMIT)
    for name in order:
        if name in hx:
            out += struct.pack("<I", 66) + hx[name].encode() + b"\0\0"
        else:
            out += struct.pack("<q", ts[name])  # i64 LE == two LE words, low first
    return out, {**hx, **ts}


def test_composition_decodes_reference_layout_exactly():
    raw, expected = _reference_composition_bytes()
    assert len(raw) == 32 + 8 * 8 + 7 * 72
    j = CompositionJournal.decode(raw)
    assert j.data_8_months_hash == COMMIT
    for name, value in expected.items():
        assert getattr(j, name) == value, name
    assert j.encode() == raw
    assert j.verifier_data() == [
        1_000,
        9_000,
        int(expected["reserve_price"], 16),
        7_000,
        9_000,
        int(expected["twap_result"], 16),
        -5,
        9_000,
        int(expected["max_return"], 16),
    ]


def test_composition_build_round_trip():
    j = CompositionJournal.build(
        data_commitment=COMMIT,
        start_timestamp=10,
        end_timestamp=20,
        reserve_price=(10, 20, 2.5e9),
        twap=(15, 20, 1.25e9),
        max_return=(0, 20, 0.3),
    )
    assert CompositionJournal.decode(j.encode()) == j
    assert j.twap_tolerance == f64_to_fixed_hex(1.0)
    assert j.verifier_data()[5] == f64_to_fixed_felt(1.25e9)


def test_composition_rejects_bad_bytes():
    raw, _ = _reference_composition_bytes()
    with pytest.raises(JournalDecodeError, match="trailing"):
        CompositionJournal.decode(raw + b"\x01\0\0\0")
    with pytest.raises(JournalDecodeError, match="ends early"):
        CompositionJournal.decode(raw[:-8])
    # non-zero padding after a 66-byte string
    pos = 32 + 4 * 8 + 4 + 66
    bad = raw[:pos] + b"\x01\0" + raw[pos + 2 :]
    with pytest.raises(JournalDecodeError, match="padding"):
        CompositionJournal.decode(bad)
    # uppercase hex is rejected (the Cairo decoder only handles 0-9a-f)
    upper = raw.replace(b"ccccccccccccd", b"CCCCCCCCCCCCD", 1)
    assert upper != raw
    with pytest.raises(JournalDecodeError, match="lowercase"):
        CompositionJournal.decode(upper)
