"""Verify a proof record (the JSON the status endpoint serves) before it is stored or trusted.

``verify_record(record_json, public_key, *, expected_image_id=None, expected_selector=None)``
returns the decoded journal or raises ``ProofVerificationError`` whose ``check``
names the failed check, one of:

``record format``, ``claim digest``, ``image id``, ``journal``, ``seal``,
``selector``, ``receipt``, ``public key``, ``signature``, ``pairing``.

What each kind proves after these checks:

* ``attested``: the holder of ``public_key`` signed ``ok(image_id, journal)``;
* ``dev``: nothing (the seal is the claim digest itself);
* ``groth16``: the seal is well formed and bound to this image id and journal;
  the pairing check itself runs on-chain (garaga verifier), not here.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature

from .claim import claim_digest
from .errors import JournalDecodeError, ProofVerificationError, ReceiptRejected, StarknetCalldataUnavailable
from .journal import CompositionJournal, MetricJournal
from .keys import load_public_key
from .programs import program_for_image_id
from .receipt import GROTH16_SEAL_LEN, check_groth16_receipt, parse_receipt
from .records import ATTESTED_SELECTOR, DEV_SELECTOR, ProofRecord


def _decode_for_program(program: str, journal: bytes) -> MetricJournal | CompositionJournal:
    try:
        if program == "composition":
            return CompositionJournal.decode(journal)
        decoded = MetricJournal.decode(journal)
    except JournalDecodeError as exc:
        raise ProofVerificationError("journal", str(exc)) from exc
    if decoded.metric != program:
        raise ProofVerificationError("image id", f"image id is the {program} program but the journal is a {decoded.metric} journal")
    return decoded


def _decode_any(journal: bytes) -> MetricJournal | CompositionJournal:
    errors = []
    for cls in (MetricJournal, CompositionJournal):
        try:
            return cls.decode(journal)
        except JournalDecodeError as exc:
            errors.append(f"{cls.__name__}: {exc}")
    raise ProofVerificationError("journal", "; ".join(errors))


def verify_record(
    record_json: dict,
    public_key: bytes | None = None,
    *,
    expected_image_id: bytes | None = None,
    expected_selector: bytes | None = None,
    pairing: bool = False,
) -> MetricJournal | CompositionJournal:
    """``pairing=True`` also runs the Groth16 pairing check through garaga (optional extra)."""
    try:
        record = ProofRecord.from_json(record_json)
    except (ValueError, TypeError, KeyError) as exc:
        raise ProofVerificationError("record format", str(exc)) from exc

    recomputed = claim_digest(record.image_id, record.journal)
    if recomputed != record.claim_digest:
        raise ProofVerificationError(
            "claim digest",
            f"record says 0x{record.claim_digest.hex()}, ok(image id, journal) is 0x{recomputed.hex()}",
        )

    if record.kind in ("dev", "attested"):
        program = program_for_image_id(record.image_id)
        if program is None:
            raise ProofVerificationError("image id", f"0x{record.image_id.hex()} is not a Fossil program id")
        decoded = _decode_for_program(program, record.journal)
    else:
        if expected_image_id is not None and record.image_id != expected_image_id:
            raise ProofVerificationError(
                "image id", f"0x{record.image_id.hex()}, expected 0x{expected_image_id.hex()}"
            )
        decoded = _decode_any(record.journal)

    if record.kind == "dev":
        if record.selector != DEV_SELECTOR or record.seal != DEV_SELECTOR + record.claim_digest:
            raise ProofVerificationError("seal", "dev seal must be 0xFFFFFFFF || claim digest")
    elif record.kind == "attested":
        _verify_attested(record, public_key)
    else:
        _verify_groth16(record, expected_selector)
        if pairing:
            from .starknet import groth16_pairing_check

            try:
                groth16_pairing_check(record)
            except StarknetCalldataUnavailable as exc:
                raise ProofVerificationError("pairing", str(exc)) from exc
    return decoded


def _verify_attested(record: ProofRecord, public_key: bytes | None) -> None:
    if record.selector != ATTESTED_SELECTOR:
        raise ProofVerificationError("selector", f"0x{record.selector.hex()} is not the attested selector")
    if record.signature is None or len(record.signature) != 64:
        raise ProofVerificationError("signature", "attested record has no 64-byte signature")
    if record.seal != ATTESTED_SELECTOR + record.signature:
        raise ProofVerificationError("seal", "attested seal must be selector || signature")
    if public_key is None:
        raise ProofVerificationError("public key", "no published prover key to check the signature against")
    if record.public_key is not None and record.public_key != public_key:
        raise ProofVerificationError("public key", "record was signed by a different key than the published one")
    try:
        load_public_key(public_key).verify(record.signature, record.claim_digest)
    except (InvalidSignature, ValueError) as exc:
        raise ProofVerificationError("signature", "Ed25519 signature over the claim digest does not verify") from exc


def _verify_groth16(record: ProofRecord, expected_selector: bytes | None) -> None:
    if len(record.seal) != 4 + GROTH16_SEAL_LEN:
        raise ProofVerificationError("seal", f"{len(record.seal)} bytes, expected selector + {GROTH16_SEAL_LEN}")
    if record.seal[:4] != record.selector:
        raise ProofVerificationError("seal", "seal does not start with the record's selector")
    if expected_selector is not None and record.selector != expected_selector:
        raise ProofVerificationError("selector", f"0x{record.selector.hex()}, expected 0x{expected_selector.hex()}")
    if record.selector in (DEV_SELECTOR, ATTESTED_SELECTOR):
        raise ProofVerificationError("selector", "a Groth16 record cannot carry the dev or attested selector")
    if record.receipt is not None:
        try:
            rc = parse_receipt(record.receipt)
            check_groth16_receipt(rc, expected_image_id=record.image_id, expected_selector=record.selector)
        except ReceiptRejected as exc:
            raise ProofVerificationError("receipt", str(exc)) from exc
        if rc.journal != record.journal or rc.encoded_seal != record.seal:
            raise ProofVerificationError("receipt", "receipt's journal or seal differs from the record's")
