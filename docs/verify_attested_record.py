"""Verify an attested Fossil proof record with nothing but hashlib and `cryptography`.

    curl -s -H "X-API-Key: $KEY" https://fossil.example/api/prover_key > keys.json
    python3 verify_attested_record.py record.json keys.json [ISSUED_AT]

``record.json`` is one entry of ``receipts`` from ``GET /job_status/<job_id>``. The script recomputes
the RISC Zero claim digest ``ok(image_id, journal)`` (tagged SHA-256, docs/proofs.md), checks it
is the record's, and verifies the Ed25519 signature over it with the published key whose id the
record names. A key's status counts: a revoked key verifies nothing (its reason is printed), a
retired key only a record issued before its ``retired_at`` (``ISSUED_AT``, ISO 8601, e.g. the
request's ``completed_at``). Exit status 0 and "ok" when it verifies; an exception otherwise.
"""

import hashlib
import json
import struct
import sys
from datetime import datetime

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


def main(record_path: str, keys_path: str, issued_at: str | None = None) -> None:
    with open(record_path) as fh:
        record = json.load(fh)
    with open(keys_path) as fh:
        keys = {k["key_id"]: k for k in json.load(fh)["keys"]}
    digest = claim_digest(unhex(record["image_id"]), unhex(record["journal"]))
    if digest != unhex(record["claim_digest"]):
        raise SystemExit("claim digest does not match image id and journal")
    key = keys.get(record["key_id"])
    if key is None:
        raise SystemExit(f"key {record['key_id']} is not published")
    if key.get("status") == "revoked":
        raise SystemExit(f"key {record['key_id']} was revoked at {key['revoked_at']}: {key['revoked_reason']}")
    if key.get("status") == "retired":
        retired_at = datetime.fromisoformat(key["retired_at"].replace("Z", "+00:00"))
        issued = datetime.fromisoformat(issued_at.replace("Z", "+00:00")) if issued_at else None
        if issued is None or issued >= retired_at:
            raise SystemExit(f"key {record['key_id']} was retired at {key['retired_at']}: give a time before it")
    # raises cryptography.exceptions.InvalidSignature when the signature does not verify
    Ed25519PublicKey.from_public_bytes(unhex(key["public_key"])).verify(unhex(record["signature"]), digest)
    print("ok: signed by prover key", record["key_id"])


if __name__ == "__main__":
    main(*sys.argv[1:4])
