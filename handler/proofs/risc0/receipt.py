"""bincode (1.x legacy) ``risc0_zkvm::Receipt`` parser/encoder and the Groth16 receipt checks.

Layout (docs/proofs.md, checked on a real receipt in tests/data/receipts/README.md):
little-endian fixed-width ints, u64 lengths, u32 enum tags, u8 Option tags.

    Receipt        = inner: InnerReceipt, journal: Vec<u8>, metadata: {verifier_parameters: Digest}
    InnerReceipt   = u32 tag (Composite 0, Succinct 1, Groth16 2, Fake 3) + body
    Groth16Receipt = seal: Vec<u8> (256), claim: MaybePruned<ReceiptClaim>, verifier_parameters: Digest
    MaybePruned<T> = u32 tag: Value 0 + T | Pruned 1 + Digest
    ReceiptClaim   = pre, post: MaybePruned<SystemState{pc u32, merkle_root}>, exit_code (u32 tag [+ u32]),
                     input: MaybePruned<Option<Input>>, output: MaybePruned<Option<Output>>
    Output         = journal: MaybePruned<Vec<u8>>, assumptions: MaybePruned<Vec<MaybePruned<Assumption>>>
    Assumption     = claim: Digest, control_root: Digest

Only Groth16 receipts are parsed; any other kind is rejected by name. A parse
must end exactly at the last byte.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ReceiptDecodeError, ReceiptRejected
from . import claim as c

INNER_KINDS = {0: "Composite", 1: "Succinct", 2: "Groth16", 3: "Fake"}
GROTH16_SEAL_LEN = 256
MAX_VEC = 64 * 1024 * 1024


@dataclass(frozen=True)
class MaybePruned:
    value: Any = None
    pruned: bytes | None = None

    @property
    def is_pruned(self) -> bool:
        return self.pruned is not None

    def digest(self, of_value: Callable[[Any], bytes]) -> bytes:
        return self.pruned if self.pruned is not None else of_value(self.value)


@dataclass(frozen=True)
class SystemState:
    pc: int
    merkle_root: bytes

    def digest(self) -> bytes:
        return c.system_state_digest(self.pc, self.merkle_root)


@dataclass(frozen=True)
class Assumption:
    claim: bytes
    control_root: bytes

    def digest(self) -> bytes:
        return c.assumption_digest(self.claim, self.control_root)


@dataclass(frozen=True)
class Output:
    journal: MaybePruned  # bytes
    assumptions: MaybePruned  # list[MaybePruned[Assumption]]

    def digest(self) -> bytes:
        j = self.journal.digest(c.sha256)
        a = self.assumptions.digest(lambda items: c.assumptions_digest([i.digest(Assumption.digest) for i in items]))
        return c.output_digest(j, a)


@dataclass(frozen=True)
class ParsedClaim:
    pre: MaybePruned  # SystemState
    post: MaybePruned  # SystemState
    exit_tag: int
    exit_user: int
    input: MaybePruned  # None (Option<Input> is always None)
    output: MaybePruned  # Output | None

    def digest(self) -> bytes:
        system, user = c.exit_code_pair(self.exit_tag, self.exit_user)
        return c.ReceiptClaim(
            pre=self.pre.digest(SystemState.digest),
            post=self.post.digest(SystemState.digest),
            exit_system=system,
            exit_user=user,
            input=self.input.digest(lambda v: c.ZERO),
            output=self.output.digest(lambda o: c.ZERO if o is None else o.digest()),
        ).digest()

    @property
    def image_id(self) -> bytes:
        return self.pre.digest(SystemState.digest)


@dataclass(frozen=True)
class Groth16Receipt:
    seal: bytes
    claim: MaybePruned  # ParsedClaim
    verifier_parameters: bytes
    journal: bytes
    metadata_verifier_parameters: bytes

    kind = "Groth16"

    @property
    def selector(self) -> bytes:
        return self.verifier_parameters[:4]

    @property
    def encoded_seal(self) -> bytes:
        """risc0-ethereum ``encode_seal``: selector ‖ 256-byte seal (what garaga and on-chain verifiers take)."""
        return self.selector + self.seal

    def claim_digest(self) -> bytes:
        return self.claim.digest(ParsedClaim.digest)

    def with_journal(self, journal: bytes) -> Groth16Receipt:
        """Copy with the journal replaced in both places (tests and fixtures only; the seal no longer matches)."""
        claim = self.claim
        if not claim.is_pruned and claim.value.output.value is not None:
            out = claim.value.output.value
            claim = MaybePruned(replace(claim.value, output=MaybePruned(replace(out, journal=MaybePruned(journal)))))
        return replace(self, journal=journal, claim=claim)


# ---------------------------------------------------------------- decoding


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise ReceiptDecodeError(f"receipt ends early reading {what} at byte {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]

    def u64(self, what: str) -> int:
        return struct.unpack("<Q", self.take(8, what))[0]

    def digest(self, what: str) -> bytes:
        return self.take(32, what)

    def vec_u8(self, what: str) -> bytes:
        n = self.u64(f"{what} length")
        if n > MAX_VEC:
            raise ReceiptDecodeError(f"{what} length {n} is implausible")
        return self.take(n, what)

    def maybe_pruned(self, what: str, value: Callable[[], Any]) -> MaybePruned:
        tag = self.u32(f"{what} tag")
        if tag == 0:
            return MaybePruned(value=value())
        if tag == 1:
            return MaybePruned(pruned=self.digest(what))
        raise ReceiptDecodeError(f"{what}: bad MaybePruned tag {tag}")

    def option(self, what: str, value: Callable[[], Any]) -> Any:
        tag = self.u8(f"{what} option tag")
        if tag == 0:
            return None
        if tag == 1:
            return value()
        raise ReceiptDecodeError(f"{what}: bad Option tag {tag}")


def _system_state(r: _Reader, what: str) -> SystemState:
    return SystemState(r.u32(f"{what}.pc"), r.digest(f"{what}.merkle_root"))


def _input(r: _Reader) -> None:
    def some() -> None:
        raise ReceiptDecodeError("claim.input: Some(Input) is not supported (always None in risc0)")

    return r.option("claim.input", some)


def _output(r: _Reader) -> Output:
    journal = r.maybe_pruned("claim.output.journal", lambda: r.vec_u8("claim.output.journal"))

    def assumptions() -> list[MaybePruned]:
        n = r.u64("assumptions length")
        if n > 4096:
            raise ReceiptDecodeError(f"assumptions length {n} is implausible")
        return [
            r.maybe_pruned(
                "assumption",
                lambda: Assumption(r.digest("assumption.claim"), r.digest("assumption.control_root")),
            )
            for _ in range(n)
        ]

    return Output(journal, r.maybe_pruned("claim.output.assumptions", assumptions))


def _claim(r: _Reader) -> ParsedClaim:
    pre = r.maybe_pruned("claim.pre", lambda: _system_state(r, "pre"))
    post = r.maybe_pruned("claim.post", lambda: _system_state(r, "post"))
    exit_tag = r.u32("claim.exit_code tag")
    if exit_tag in (c.EXIT_HALTED, c.EXIT_PAUSED):
        exit_user = r.u32("claim.exit_code value")
    elif exit_tag in (c.EXIT_SYSTEM_SPLIT, c.EXIT_SESSION_LIMIT):
        exit_user = 0
    else:
        raise ReceiptDecodeError(f"claim.exit_code: bad tag {exit_tag}")
    inp = r.maybe_pruned("claim.input", lambda: _input(r))
    out = r.maybe_pruned("claim.output", lambda: r.option("claim.output", lambda: _output(r)))
    return ParsedClaim(pre, post, exit_tag, exit_user, inp, out)


def parse_receipt(data: bytes) -> Groth16Receipt:
    """Parse a bincode ``Receipt``; only the Groth16 kind is accepted."""
    r = _Reader(data)
    tag = r.u32("inner receipt tag")
    if tag != 2:
        kind = INNER_KINDS.get(tag)
        if kind is None:
            raise ReceiptDecodeError(f"receipt kind: unknown inner receipt tag {tag}")
        raise ReceiptRejected(f"receipt kind: {kind}, expected Groth16")
    seal = r.vec_u8("seal")
    claim = r.maybe_pruned("claim", lambda: _claim(r))
    vparams = r.digest("verifier_parameters")
    journal = r.vec_u8("journal")
    meta = r.digest("metadata.verifier_parameters")
    if r.pos != len(r.data):
        raise ReceiptDecodeError(f"receipt has {len(r.data) - r.pos} trailing bytes after byte {r.pos}")
    return Groth16Receipt(seal, claim, vparams, journal, meta)


# ---------------------------------------------------------------- encoding


def _w_vec(b: bytes) -> bytes:
    return struct.pack("<Q", len(b)) + bytes(b)


def _w_mp(mp: MaybePruned, value: Callable[[Any], bytes]) -> bytes:
    if mp.pruned is not None:
        return struct.pack("<I", 1) + mp.pruned
    return struct.pack("<I", 0) + value(mp.value)


def _w_state(s: SystemState) -> bytes:
    return struct.pack("<I", s.pc) + s.merkle_root


def _w_option(v: Any, value: Callable[[Any], bytes]) -> bytes:
    return b"\x00" if v is None else b"\x01" + value(v)


def _w_output(o: Output) -> bytes:
    def assumptions(items: list[MaybePruned]) -> bytes:
        return struct.pack("<Q", len(items)) + b"".join(_w_mp(i, lambda a: a.claim + a.control_root) for i in items)

    return _w_mp(o.journal, _w_vec) + _w_mp(o.assumptions, assumptions)


def _w_claim(cl: ParsedClaim) -> bytes:
    exit_bytes = struct.pack("<I", cl.exit_tag)
    if cl.exit_tag in (c.EXIT_HALTED, c.EXIT_PAUSED):
        exit_bytes += struct.pack("<I", cl.exit_user)
    return (
        _w_mp(cl.pre, _w_state)
        + _w_mp(cl.post, _w_state)
        + exit_bytes
        + _w_mp(cl.input, lambda v: _w_option(v, lambda _: b""))
        + _w_mp(cl.output, lambda o: _w_option(o, _w_output))
    )


def encode_receipt(rc: Groth16Receipt) -> bytes:
    return (
        struct.pack("<I", 2)
        + _w_vec(rc.seal)
        + _w_mp(rc.claim, _w_claim)
        + rc.verifier_parameters
        + _w_vec(rc.journal)
        + rc.metadata_verifier_parameters
    )


# ---------------------------------------------------------------- succinct receipts (sessions' receipts)


@dataclass(frozen=True)
class SuccinctReceipt:
    """A session's ``Receipt`` with a ``Succinct`` inner receipt, parsed only as far as its claim and journal.

    ``SuccinctReceipt = seal: Vec<u32>, control_id: Digest, claim: MaybePruned<ReceiptClaim>,
    hashfn: String, verifier_parameters: Digest, control_inclusion_proof: {index: u32, digests: Vec<Digest>}``.
    Its STARK seal is not checked here: the composition program verifies it inside the zkVM.
    """

    seal: bytes
    control_id: bytes
    claim: MaybePruned
    hashfn: str
    verifier_parameters: bytes
    inclusion_index: int
    inclusion_digests: tuple[bytes, ...]
    journal: bytes
    metadata_verifier_parameters: bytes

    @property
    def image_id(self) -> bytes | None:
        return None if self.claim.is_pruned else self.claim.value.image_id


def parse_succinct_receipt(data: bytes) -> SuccinctReceipt:
    r = _Reader(data)
    tag = r.u32("inner receipt tag")
    if tag != 1:
        kind = INNER_KINDS.get(tag)
        if kind is None:
            raise ReceiptDecodeError(f"receipt kind: unknown inner receipt tag {tag}")
        raise ReceiptRejected(f"receipt kind: {kind}, expected Succinct")
    n = r.u64("seal length")
    if n > MAX_VEC // 4:
        raise ReceiptDecodeError(f"seal: length {n} is implausible")
    seal = r.take(4 * n, "seal")
    control_id = r.digest("control_id")
    claim = r.maybe_pruned("claim", lambda: _claim(r))
    hashfn = r.vec_u8("hashfn")
    vparams = r.digest("verifier_parameters")
    index = r.u32("control_inclusion_proof.index")
    count = r.u64("control_inclusion_proof.digests length")
    if count > 1024:
        raise ReceiptDecodeError(f"control_inclusion_proof: {count} digests is implausible")
    digests = tuple(r.digest("control_inclusion_proof.digest") for _ in range(count))
    journal = r.vec_u8("journal")
    meta = r.digest("metadata.verifier_parameters")
    if r.pos != len(r.data):
        raise ReceiptDecodeError(f"receipt has {len(r.data) - r.pos} trailing bytes after byte {r.pos}")
    try:
        hashfn_text = hashfn.decode("ascii")
    except UnicodeDecodeError:
        raise ReceiptDecodeError("hashfn: not ASCII") from None
    return SuccinctReceipt(seal, control_id, claim, hashfn_text, vparams, index, digests, journal, meta)


def encode_succinct_receipt(rc: SuccinctReceipt) -> bytes:
    return (
        struct.pack("<I", 1)
        + struct.pack("<Q", len(rc.seal) // 4)
        + rc.seal
        + rc.control_id
        + _w_mp(rc.claim, _w_claim)
        + _w_vec(rc.hashfn.encode("ascii"))
        + rc.verifier_parameters
        + struct.pack("<I", rc.inclusion_index)
        + struct.pack("<Q", len(rc.inclusion_digests))
        + b"".join(rc.inclusion_digests)
        + _w_vec(rc.journal)
        + rc.metadata_verifier_parameters
    )


def receipt_claim_journal(claim: MaybePruned) -> bytes | None:
    """The journal a claim commits, when the claim carries it unpruned."""
    if claim.is_pruned or claim.value.output.is_pruned or claim.value.output.value is None:
        return None
    journal = claim.value.output.value.journal
    return None if journal.is_pruned else journal.value


# ---------------------------------------------------------------- checks


def check_groth16_receipt(
    rc: Groth16Receipt, *, expected_image_id: bytes, expected_selector: bytes | None = None
) -> bytes:
    """The checks of docs/proofs.md; returns the claim digest.

    The pairing check itself cannot run here; it runs on-chain (garaga verifier).
    """
    if len(rc.seal) != GROTH16_SEAL_LEN:
        raise ReceiptRejected(f"seal length: {len(rc.seal)} bytes, expected {GROTH16_SEAL_LEN}")
    if rc.verifier_parameters != rc.metadata_verifier_parameters:
        raise ReceiptRejected("verifier parameters: inner receipt and metadata disagree")
    if expected_selector is not None and rc.selector != expected_selector:
        raise ReceiptRejected(f"selector: 0x{rc.selector.hex()}, expected 0x{expected_selector.hex()}")
    if not rc.claim.is_pruned:
        cl: ParsedClaim = rc.claim.value
        if cl.image_id != expected_image_id:
            raise ReceiptRejected(f"image id: 0x{cl.image_id.hex()}, expected 0x{expected_image_id.hex()}")
        if cl.exit_tag != c.EXIT_HALTED or cl.exit_user != 0:
            raise ReceiptRejected(f"exit code: tag {cl.exit_tag} user {cl.exit_user}, expected Halted(0)")
        out = cl.output.value if not cl.output.is_pruned else None
        if out is not None and not out.journal.is_pruned and out.journal.value != rc.journal:
            raise ReceiptRejected("journal: receipt journal differs from the claimed journal")
    expected = c.claim_digest(expected_image_id, rc.journal)
    actual = rc.claim_digest()
    if actual != expected:
        raise ReceiptRejected(f"claim digest: receipt 0x{actual.hex()} != ok(image id, journal) 0x{expected.hex()}")
    return actual
