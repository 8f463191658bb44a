"""Verify an attested Fossil proof record with nothing but hashlib and `cryptography`.

    curl -s -H "X-API-Key: $KEY" https://fossil.example/api/prover_key > keys.json
    python3 verify_attested_record.py record.json keys.json

``record.json`` is one entry of ``receipts`` from ``GET /job_status/<job_id>``. The script recomputes
the RISC Zero claim digest ``ok(image_id, journal)`` (tagged SHA-256, docs/proofs.md), checks it
is the record's, and verifies the Ed25519 signature over it with the published key whose id the
record names (current or retired). Exit status 0 and "ok" when it verifies; an exception otherwise.
"""
import hashlib, json, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def tagged(tag, down, data=()):
    h = hashlib.sha256(hashlib.sha256(tag.encode()).digest())
    for d in down:
        h.update(d)
    for w in data:
        h.update(struct.pack("<I", w))
    h.update(struct.pack("<H", len(down)))
    return h.digest()

def claim_digest(image_id, journal):
    zero = bytes(32)
    post = tagged("risc0.SystemState", [zero], [0])
    output = tagged("risc0.Output", [hashlib.sha256(journal).digest(), zero])
    return tagged("risc0.ReceiptClaim", [zero, image_id, post, output], [0, 0])

record = json.load(open(sys.argv[1]))
keys = {k["key_id"]: k["public_key"] for k in json.load(open(sys.argv[2]))["keys"]}
h = lambda s: bytes.fromhex(s[2:])
digest = claim_digest(h(record["image_id"]), h(record["journal"]))
assert digest == h(record["claim_digest"]), "claim digest does not match image id and journal"
Ed25519PublicKey.from_public_bytes(h(keys[record["key_id"]])).verify(h(record["signature"]), digest)
print("ok: signed by prover key", record["key_id"])
