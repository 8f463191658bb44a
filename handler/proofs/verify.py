"""Verify a proof record (the JSON the status endpoint serves) before it is stored or trusted.

``verify_record(record_json, public_key, *, ...)`` returns the decoded journal (or ``None`` for a
Groth16 journal in no format this service knows, when ``journal_required`` is false) or raises
``ProofVerificationError`` whose ``check`` names the failed check, one of:

``record format``, ``claim digest``, ``image id``, ``journal``, ``seal``, ``selector``,
``receipt``, ``public key``, ``key id``, ``signature``, ``pairing``.

What each kind proves after these checks:

* ``attested``: the holder of the key named by the record's key id signed ``ok(image_id, journal)``;
* ``dev``: nothing (the seal is the claim digest itself);
* ``groth16``: the BN254 pairing check holds for the five public inputs built from the verifier
  version's control root (named by the selector), the claim digest ``ok(image_id, journal)`` and
  the BN254 control id: a RISC Zero prover ran the program ``image_id`` and it committed
  ``journal`` (``risc0/groth16.py``; docs/proofs.md).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature

from .errors import JournalDecodeError, ProofVerificationError, ReceiptRejected
from .keys import key_id as key_id_of
from .keys import load_public_key
from .programs import decode_any_journal, decode_program_journal, program_for_image_id
from .records import ATTESTED_SELECTOR, DEV_SELECTOR, ProofRecord
from .risc0 import groth16
from .risc0.claim import claim_digest
from .risc0.receipt import check_groth16_receipt, parse_receipt


def _decode_for_program(program: str, journal: bytes):
    try:
        decoded = decode_program_journal(program, journal)
    except JournalDecodeError as exc:
        raise ProofVerificationError("journal", str(exc)) from exc
    if program in ("twap", "max_return", "reserve_price") and decoded.metric != program:
        raise ProofVerificationError(
            "image id", f"image id is the {program} program but the journal is a {decoded.metric} journal"
        )
    return decoded


def _decode_any(journal: bytes, required: bool):
    try:
        return decode_any_journal(journal)
    except JournalDecodeError as exc:
        if required:
            raise ProofVerificationError("journal", str(exc)) from exc
        return None


def verify_record(
    record_json: dict,
    public_key: bytes | None = None,
    *,
    public_keys: dict[str, bytes] | None = None,
    expected_image_id: bytes | frozenset[bytes] | None = None,
    expected_selector: bytes | None = None,
    require_image_id: bool = False,
    journal_required: bool = True,
    journal_decoders: dict | None = None,
    engine: str = "auto",
):
    """Verify one record.

    ``public_key`` pins one Ed25519 key for attested records; ``public_keys`` maps key id → key
    (the published current and retired keys) and the record's key id picks one. Groth16 records
    are always checked with the pairing; ``expected_image_id`` (one id or a set) and
    ``expected_selector`` pin the program and the verifier version, ``require_image_id`` refuses a
    Groth16 record when no image id is pinned (the service's store path), and
    ``journal_decoders`` maps an image id to the decoder of the journal its guest commits.
    """
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
        if expected_image_id is None and require_image_id:
            raise ProofVerificationError(
                "image id", "no pinned image id to check a Groth16 record against (COPROCESSOR_PROFILE)"
            )
        if expected_image_id is not None:
            allowed = {expected_image_id} if isinstance(expected_image_id, bytes) else set(expected_image_id)
            if record.image_id not in allowed:
                expected = " or ".join(sorted("0x" + i.hex() for i in allowed))
                raise ProofVerificationError("image id", f"0x{record.image_id.hex()}, expected {expected}")
        decoder = (journal_decoders or {}).get(record.image_id)
        if decoder is not None:
            try:
                decoded = decoder(record.journal)
            except JournalDecodeError as exc:
                raise ProofVerificationError("journal", str(exc)) from exc
        else:
            decoded = _decode_any(record.journal, journal_required)

    if record.kind == "dev":
        if record.selector != DEV_SELECTOR or record.seal != DEV_SELECTOR + record.claim_digest:
            raise ProofVerificationError("seal", "dev seal must be 0xFFFFFFFF || claim digest")
    elif record.kind == "attested":
        _verify_attested(record, public_key, public_keys)
    else:
        _verify_groth16(record, expected_selector, engine)
    return decoded


def _attested_key(record: ProofRecord, public_key: bytes | None, public_keys: dict[str, bytes] | None) -> bytes:
    if public_key is not None:
        if record.public_key is not None and record.public_key != public_key:
            raise ProofVerificationError("public key", "record was signed by a different key than the one given")
        return public_key
    if not public_keys:
        raise ProofVerificationError("public key", "no published prover key to check the signature against")
    rid = record.key_id or (key_id_of(record.public_key) if record.public_key is not None else None)
    if rid is None:
        if len(public_keys) == 1:
            return next(iter(public_keys.values()))
        raise ProofVerificationError("key id", "record names no key id and several keys are published")
    key = public_keys.get(rid)
    if key is None:
        raise ProofVerificationError("key id", f"{rid} is not a published prover key (current or retired)")
    if record.public_key is not None and record.public_key != key:
        raise ProofVerificationError("public key", f"record's public key is not the published key {rid}")
    return key


def _verify_attested(record: ProofRecord, public_key: bytes | None, public_keys: dict[str, bytes] | None) -> None:
    if record.selector != ATTESTED_SELECTOR:
        raise ProofVerificationError("selector", f"0x{record.selector.hex()} is not the attested selector")
    if record.signature is None or len(record.signature) != 64:
        raise ProofVerificationError("signature", "attested record has no 64-byte signature")
    if record.seal != ATTESTED_SELECTOR + record.signature:
        raise ProofVerificationError("seal", "attested seal must be selector || signature")
    key = _attested_key(record, public_key, public_keys)
    if record.key_id is not None and record.key_id != key_id_of(key):
        raise ProofVerificationError("key id", f"record says key {record.key_id}, the checking key is {key_id_of(key)}")
    try:
        load_public_key(key).verify(record.signature, record.claim_digest)
    except (InvalidSignature, ValueError) as exc:
        raise ProofVerificationError("signature", "Ed25519 signature over the claim digest does not verify") from exc


def _verify_groth16(record: ProofRecord, expected_selector: bytes | None, engine: str) -> None:
    if len(record.seal) != 4 + groth16.SEAL_LEN:
        raise ProofVerificationError("seal", f"{len(record.seal)} bytes, expected selector + {groth16.SEAL_LEN}")
    if record.seal[:4] != record.selector:
        raise ProofVerificationError("seal", "seal does not start with the record's selector")
    if expected_selector is not None and record.selector != expected_selector:
        raise ProofVerificationError("selector", f"0x{record.selector.hex()}, expected 0x{expected_selector.hex()}")
    if record.selector in (DEV_SELECTOR, ATTESTED_SELECTOR):
        raise ProofVerificationError("selector", "a Groth16 record cannot carry the dev or attested selector")
    groth16.version_for_selector(record.selector)
    if record.receipt is not None:
        try:
            rc = parse_receipt(record.receipt)
            check_groth16_receipt(rc, expected_image_id=record.image_id, expected_selector=record.selector)
        except ReceiptRejected as exc:
            raise ProofVerificationError("receipt", str(exc)) from exc
        if rc.journal != record.journal or rc.encoded_seal != record.seal:
            raise ProofVerificationError("receipt", "receipt's journal or seal differs from the record's")
    groth16.verify_seal(record.seal, record.claim_digest, engine=engine)
