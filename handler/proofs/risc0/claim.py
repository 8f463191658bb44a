"""RISC Zero ``ReceiptClaim`` and its digest (tagged SHA-256; docs/proofs.md).

tagged_struct(tag, down, data) = SHA-256( SHA-256(tag) ‖ down digests ‖ data words (u32 LE) ‖ len(down) (u16 LE) )

* SystemState digest  = tagged_struct("risc0.SystemState", [merkle_root], [pc])
* Output digest       = tagged_struct("risc0.Output", [sha256(journal), assumptions digest])
* Assumptions digest  = tagged list "risc0.Assumptions" (empty list → zero digest)
* ReceiptClaim digest = tagged_struct("risc0.ReceiptClaim", [input, pre, post, output], [sys_exit, user_exit])

For a normal halt: ``ok(image_id, journal)`` with input = zero, pre = image id,
post = SystemState{pc 0, zero root} digest, exit (0, 0).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

ZERO = bytes(32)


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def tagged_struct(tag: str, down: list[bytes], data: list[int] = ()) -> bytes:  # type: ignore[assignment]
    h = hashlib.sha256(sha256(tag.encode()))
    for d in down:
        if len(d) != 32:
            raise ValueError("digest must be 32 bytes")
        h.update(d)
    for w in data:
        h.update(struct.pack("<I", w))
    h.update(struct.pack("<H", len(down)))
    return h.digest()


def tagged_list(tag: str, items: list[bytes]) -> bytes:
    acc = ZERO
    for item in reversed(items):
        acc = tagged_struct(tag, [item, acc])
    return acc


def system_state_digest(pc: int, merkle_root: bytes) -> bytes:
    return tagged_struct("risc0.SystemState", [merkle_root], [pc])


SYSTEM_STATE_ZERO = system_state_digest(0, ZERO)


def assumption_digest(claim: bytes, control_root: bytes) -> bytes:
    return tagged_struct("risc0.Assumption", [claim, control_root])


def assumptions_digest(assumption_digests: list[bytes]) -> bytes:
    return tagged_list("risc0.Assumptions", assumption_digests)


def output_digest(journal_digest: bytes, assumptions: bytes = ZERO) -> bytes:
    return tagged_struct("risc0.Output", [journal_digest, assumptions])


EXIT_HALTED, EXIT_PAUSED, EXIT_SYSTEM_SPLIT, EXIT_SESSION_LIMIT = 0, 1, 2, 3


def exit_code_pair(tag: int, user: int) -> tuple[int, int]:
    """(system, user) words of an ``ExitCode`` (risc0 ``ExitCode::into_pair``)."""
    if tag == EXIT_HALTED:
        return 0, user
    if tag == EXIT_PAUSED:
        return 1, user
    if tag == EXIT_SYSTEM_SPLIT:
        return 2, 0
    if tag == EXIT_SESSION_LIMIT:
        return 2, 2
    raise ValueError(f"unknown exit code tag {tag}")


@dataclass(frozen=True)
class ReceiptClaim:
    """Digest-level view of a claim (each child already reduced to its digest)."""

    pre: bytes
    post: bytes
    exit_system: int
    exit_user: int
    input: bytes
    output: bytes

    @classmethod
    def ok(cls, image_id: bytes, journal: bytes) -> ReceiptClaim:
        if len(image_id) != 32:
            raise ValueError("image id must be 32 bytes")
        return cls(
            pre=image_id,
            post=SYSTEM_STATE_ZERO,
            exit_system=0,
            exit_user=0,
            input=ZERO,
            output=output_digest(sha256(journal), ZERO),
        )

    def digest(self) -> bytes:
        return tagged_struct(
            "risc0.ReceiptClaim",
            [self.input, self.pre, self.post, self.output],
            [self.exit_system, self.exit_user],
        )


def claim_digest(image_id: bytes, journal: bytes) -> bytes:
    """Digest of ``ReceiptClaim::ok(image_id, journal)``."""
    return ReceiptClaim.ok(image_id, journal).digest()
