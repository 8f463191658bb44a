"""Verify an attested Fossil proof record with nothing but hashlib and `cryptography`.

    curl -s -H "X-API-Key: $KEY" https://fossil.example/api/prover_key > keys.json
    python3 verify_attested_record.py record.json keys.json

``record.json`` is one entry of ``receipts`` from ``GET /job_status/<job_id>``. The script recomputes
the RISC Zero claim digest ``ok(image_id, journal)`` (tagged SHA-256, docs/proofs.md), checks it
is the record's, and verifies the Ed25519 signature over it with the published key whose id the
record names (current or retired). Exit status 0 and "ok" when it verifies; an exception otherwise.
"""

import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def tagged(tag: str, down: list[bytes], data: tuple[int, ...] = ()) -> bytes:
    """RISC Zero's tagged struct hash: sha256(sha256(tag) || digests || u32 words || u16 count)."""
    h = hashlib.sha256(hashlib.sha256(tag.encode()).digest())
    for d in down:
        h.update(d)
    for w in data:
        h.update(struct.pack("<I", w))
    h.update(struct.pack("<H", len(down)))
    return h.digest()


def claim_digest(image_id: bytes, journal: bytes) -> bytes:
    """Digest of ReceiptClaim::ok(image_id, journal): halted with exit code 0, no assumptions."""
    zero = bytes(32)
    post = tagged("risc0.SystemState", [zero], (0,))
    output = tagged("risc0.Output", [hashlib.sha256(journal).digest(), zero])
    return tagged("risc0.ReceiptClaim", [zero, image_id, post, output], (0, 0))


def unhex(s: str) -> bytes:
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def main(record_path: str, keys_path: str) -> None:
    with open(record_path) as fh:
        record = json.load(fh)
    with open(keys_path) as fh:
        keys = {k["key_id"]: k["public_key"] for k in json.load(fh)["keys"]}
    digest = claim_digest(unhex(record["image_id"]), unhex(record["journal"]))
    if digest != unhex(record["claim_digest"]):
        raise SystemExit("claim digest does not match image id and journal")
    if record["key_id"] not in keys:
        raise SystemExit(f"key {record['key_id']} is not published")
    # raises cryptography.exceptions.InvalidSignature when the signature does not verify
    Ed25519PublicKey.from_public_bytes(unhex(keys[record["key_id"]])).verify(unhex(record["signature"]), digest)
    print("ok: signed by prover key", record["key_id"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
