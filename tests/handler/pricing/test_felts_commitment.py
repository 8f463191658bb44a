from __future__ import annotations

import hashlib
import struct

import pytest

from handler.pricing import (
    InvalidParameters,
    data_commitment,
    felt_hex,
    felt_to_float,
    float_to_felt,
    format_felt,
    parse_felt,
)


def test_felt_to_float_reference_vector(load_vector):
    vec = load_vector("felt_conversion_vectors.json")["felt_to_f64"]["vectors"][0]
    value = felt_to_float(parse_felt(vec["felt_hex"]))
    assert abs(value - vec["expected_approx"]) <= vec["abs_tol"]
    assert value == vec["reproduced_by_helper"]


def test_float_to_fixed_hex_vectors(load_vector):
    for vec in load_vector("felt_conversion_vectors.json")["f64_to_fixed_hex"]["vectors"]:
        assert felt_hex(vec["x"]) == vec["expected_hex"]
        assert len(felt_hex(vec["x"])) == 66


def test_fixed_point_unit_cases(load_vector):
    cases = load_vector("felt_conversion_vectors.json")["f64_to_fixed_hex"]["unit_tests"]["cases"]
    for case in cases:
        felt = float_to_felt(case["x"])
        assert felt >> 128 == case["high"]
        low = felt & ((1 << 128) - 1)
        if "low" in case:
            assert low == case["low"]
        else:
            assert abs(low - int(0.14159265358979323846 * 2**128)) <= 2**120


def test_onchain_felts_match_db_floats(load_vector):
    for pair in load_vector("felt_conversion_vectors.json")["hourly_avg_db_vs_onchain"]["pairs"]:
        value = felt_to_float(parse_felt(pair["onchain_felt"]))
        assert value == pair["felt_to_f64"]
        assert abs(value - pair["db_f64"]) <= 1.3e-16 * pair["db_f64"]


def test_float_felt_round_trip_is_exact():
    for x in (1.0, 0.05, 72592027088.01163, 2.0**-100, 2.0**100 + 2.0**48):
        assert felt_to_float(float_to_felt(x)) == x


def test_negative_and_zero_saturate_and_huge_is_rejected():
    assert float_to_felt(-3.5) == 0 and felt_hex(-1.0) == "0x" + "0" * 64
    assert felt_hex(0.0) == "0x" + "0" * 64
    with pytest.raises(InvalidParameters):
        float_to_felt(2.0**123)
    with pytest.raises(InvalidParameters):
        float_to_felt(float("nan"))
    assert felt_hex(5) == felt_hex(5.0) == format_felt(5 << 128)


@pytest.mark.parametrize("bad", ["12345", "0x", "0xzz", "0x1" + "0" * 64])
def test_parse_felt_rejects(bad):
    with pytest.raises(InvalidParameters):
        parse_felt(bad)


def test_hashing_vectors(load_vector):
    batch, hash_of_hashes, full = load_vector("hashing_vectors.json")["vectors"]
    felt = int(batch["input"]["felt_hex"], 16)
    assert _single_batch([felt] * 180) == batch["expected_u32"]
    inner = hash_of_hashes["input"]
    assert (
        data_commitment([felt] * inner["batch_digest_of"]["repeat"] * inner["digest_repeat"])
        == hash_of_hashes["expected_u32"]
    )
    assert data_commitment([felt] * full["input"]["repeat"]) == full["expected_u32"]


def _single_batch(felts):
    from handler.pricing.commitment import batch_digest, digest_to_words

    return digest_to_words(batch_digest(felts))


def test_partial_last_chunk_is_hashed_like_a_batch():
    felts = [(i + 1) << 128 for i in range(200)]
    from handler.pricing.commitment import batch_digest

    outer = hashlib.sha256(batch_digest(felts[:180]) + batch_digest(felts[180:])).digest()
    assert data_commitment(felts) == list(struct.unpack(">8I", outer))
    with pytest.raises(InvalidParameters):
        data_commitment([])
