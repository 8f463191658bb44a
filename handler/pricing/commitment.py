"""Batched SHA-256 data commitment over felts (docs/pricing.md).

Not Poseidon: each felt becomes 8 u32 words (little-endian word order, word 0
= lowest 32 bits), each word written big-endian; 180 felts form a batch whose
SHA-256 is the batch digest; the commitment is SHA-256 over the concatenated
batch digests, read as 8 big-endian u32 words.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from .errors import InvalidParameters

BATCH_SIZE = 180
_MASK32 = 0xFFFFFFFF


def _felt_bytes(felt: int) -> bytes:
    if felt < 0 or felt >= 1 << 256:
        raise InvalidParameters(f"felt out of 256-bit range: {felt}")
    return struct.pack(">8I", *((felt >> (32 * w)) & _MASK32 for w in range(8)))


def batch_digest(felts: Iterable[int]) -> bytes:
    h = hashlib.sha256()
    for f in felts:
        h.update(_felt_bytes(int(f)))
    return h.digest()


def digest_to_words(digest: bytes) -> list[int]:
    return list(struct.unpack(">8I", digest))


def data_commitment(felts: list[int] | tuple[int, ...]) -> list[int]:
    """The commitment as 8 u32 words.

    The reference only hashes multiples of 180 felts (5760 or 1440). For other
    counts the last, shorter chunk is hashed the same way (SHA-256 of its felts'
    bytes) and enters the hash of hashes like a full batch; such a commitment
    has no reference counterpart, which is why the ``price`` command prints it
    only for multiples of 180.
    """
    felts = [int(f) for f in felts]
    if not felts:
        raise InvalidParameters("cannot commit to an empty series")
    outer = hashlib.sha256()
    for k in range(0, len(felts), BATCH_SIZE):
        outer.update(batch_digest(felts[k : k + BATCH_SIZE]))
    return digest_to_words(outer.digest())
