from __future__ import annotations

import hashlib

import pytest
from proofs_support import DO_NOTHING_CLAIM, DO_NOTHING_IMAGE_ID

from handler.proofs.errors import ReceiptDecodeError, ReceiptRejected
from handler.proofs.risc0.claim import SYSTEM_STATE_ZERO, claim_digest, tagged_struct
from handler.proofs.risc0.receipt import check_groth16_receipt, encode_receipt, parse_receipt


def test_claim_digest_vector(garaga_proof):
    image_id = bytes.fromhex(garaga_proof["image_id"][2:])
    journal = bytes.fromhex(garaga_proof["journal"][2:])
    assert journal == b"just a simple receipt"
    assert claim_digest(image_id, journal).hex() == "a9615b59ce3ca4310d0831a7e0fb92d05f55a0f16caaaabfc0e88935b757a3d6"
    assert claim_digest(image_id, journal + b"!") != claim_digest(image_id, journal)


def test_tag_digests_and_zero_state():
    assert SYSTEM_STATE_ZERO.hex() == "a3acc27117418996340b84e5a90f3ef4c49d22c79e44aad822ec9c313e1eb8e2"
    assert hashlib.sha256(b"risc0.ReceiptClaim").hexdigest().startswith("cb1fefcd")
    assert hashlib.sha256(b"risc0.Output").hexdigest().startswith("77eafeb3")
    assert tagged_struct("x", [], []) == hashlib.sha256(hashlib.sha256(b"x").digest() + b"\0\0").digest()


def test_parse_real_groth16_receipt(do_nothing_receipt):
    assert len(do_nothing_receipt) == 497
    rc = parse_receipt(do_nothing_receipt)
    assert len(rc.seal) == 256
    assert rc.selector.hex() == "c27d1bc0"
    assert rc.journal == b""
    assert rc.claim.value.image_id == DO_NOTHING_IMAGE_ID
    assert rc.claim_digest() == DO_NOTHING_CLAIM == claim_digest(DO_NOTHING_IMAGE_ID, b"")
    assert rc.encoded_seal[:4] == rc.selector and len(rc.encoded_seal) == 260
    assert encode_receipt(rc) == do_nothing_receipt
    assert (
        check_groth16_receipt(rc, expected_image_id=DO_NOTHING_IMAGE_ID, expected_selector=bytes.fromhex("c27d1bc0"))
        == DO_NOTHING_CLAIM
    )


def test_parse_rejects_truncated_trailing_and_other_kinds(do_nothing_receipt):
    with pytest.raises(ReceiptDecodeError, match="trailing"):
        parse_receipt(do_nothing_receipt + b"\0")
    with pytest.raises(ReceiptDecodeError, match="ends early"):
        parse_receipt(do_nothing_receipt[:-1])
    with pytest.raises(ReceiptRejected, match="Succinct, expected Groth16"):
        parse_receipt(b"\x01\0\0\0" + do_nothing_receipt[4:])


def test_checks_reject_wrong_image_selector_seal_and_journal(do_nothing_receipt):
    rc = parse_receipt(do_nothing_receipt)
    with pytest.raises(ReceiptRejected, match="image id"):
        check_groth16_receipt(rc, expected_image_id=b"\x01" * 32)
    with pytest.raises(ReceiptRejected, match="selector"):
        check_groth16_receipt(rc, expected_image_id=DO_NOTHING_IMAGE_ID, expected_selector=bytes.fromhex("bb001d44"))
    short = parse_receipt(
        do_nothing_receipt[:4] + (255).to_bytes(8, "little") + do_nothing_receipt[12:267] + do_nothing_receipt[268:]
    )
    with pytest.raises(ReceiptRejected, match="seal length"):
        check_groth16_receipt(short, expected_image_id=DO_NOTHING_IMAGE_ID)
    # journal changed outside the claim: claim digest no longer matches ok(image id, journal)
    from dataclasses import replace

    tampered = replace(rc, journal=b"evil")
    with pytest.raises(ReceiptRejected, match="journal"):
        check_groth16_receipt(tampered, expected_image_id=DO_NOTHING_IMAGE_ID)


def test_with_journal_keeps_receipt_consistent(do_nothing_receipt):
    rc = parse_receipt(do_nothing_receipt).with_journal(b"abcd")
    again = parse_receipt(encode_receipt(rc))
    assert again.journal == b"abcd"
    assert check_groth16_receipt(again, expected_image_id=DO_NOTHING_IMAGE_ID) == claim_digest(
        DO_NOTHING_IMAGE_ID, b"abcd"
    )


def test_every_truncation_and_byte_flip_is_a_typed_error_or_detected(do_nothing_receipt):
    for n in range(len(do_nothing_receipt)):
        with pytest.raises(ReceiptRejected):  # ReceiptDecodeError is a ReceiptRejected
            parse_receipt(do_nothing_receipt[:n])
    for i in range(len(do_nothing_receipt)):
        flipped = bytearray(do_nothing_receipt)
        flipped[i] ^= 0x01
        try:
            rc = parse_receipt(bytes(flipped))
            check_groth16_receipt(
                rc, expected_image_id=DO_NOTHING_IMAGE_ID, expected_selector=bytes.fromhex("c27d1bc0")
            )
        except ReceiptRejected:
            continue
        # only the Groth16 seal bytes are not checkable without a pairing check
        assert 12 <= i < 12 + 256, f"flip at byte {i} went undetected"
