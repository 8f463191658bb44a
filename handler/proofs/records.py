"""``ProofInputs`` (what a job hands a provider) and ``ProofRecord`` (what it gets back).

``ProofRecord.to_json()`` is exactly what the status endpoint returns and what
``manage.py verify_receipt FILE`` reads: bytes as ``0x`` hex strings, everything
else JSON-safe.

Seal layout per kind:

* ``groth16``  selector (4) ‖ 256-byte Groth16 seal (risc0-ethereum ``encode_seal``)
* ``dev``      ``0xFFFFFFFF`` ‖ claim digest (risc0 dev-mode / fake-receipt convention)
* ``attested`` ``ATTESTED_SELECTOR`` ‖ Ed25519 signature over the claim digest (64)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .risc0.receipt import Groth16Receipt

KINDS = ("groth16", "attested", "dev")

DEV_SELECTOR = bytes.fromhex("ffffffff")
#: first 4 bytes of sha256(b"fossil.attested.ed25519.v1")
ATTESTED_SELECTOR = hashlib.sha256(b"fossil.attested.ed25519.v1").digest()[:4]

RECORD_VERSION = 1


@dataclass(frozen=True)
class ProofInputs:
    job_id: str
    metric: str  # "twap" | "max_return" | "reserve_price"
    window_start: int
    window_end: int
    value: float
    data_commitment: tuple[int, ...]
    series_timestamps: tuple[int, ...] = ()
    series_values: tuple[float, ...] = ()
    claims: dict = field(default_factory=dict)
    # A vault round's job (docs/proofs.md, "Vault-verifiable requests"): the exact hourly felts it
    # read, the rules that priced it and, for the reserve price, the coprocessor programs' inputs.
    rules: str = "engine"
    felts: tuple[int, ...] = ()
    round_inputs: Any = None

    def __post_init__(self) -> None:
        if self.metric not in ("twap", "max_return", "reserve_price"):
            raise ValueError(f"unknown metric {self.metric!r}")
        if len(self.data_commitment) != 8:
            raise ValueError("data_commitment must be 8 u32 words")
        if self.window_start >= self.window_end:
            raise ValueError("window_start must be < window_end")
        object.__setattr__(self, "data_commitment", tuple(int(w) for w in self.data_commitment))
        object.__setattr__(self, "series_timestamps", tuple(int(t) for t in self.series_timestamps))
        object.__setattr__(self, "series_values", tuple(float(v) for v in self.series_values))


def _hex(b: bytes | None) -> str | None:
    return None if b is None else "0x" + bytes(b).hex()


def _unhex(s: Any, name: str, *, optional: bool = False) -> bytes | None:
    if s is None and optional:
        return None
    if not isinstance(s, str) or not s.startswith("0x"):
        raise ValueError(f"{name}: expected a 0x-prefixed hex string")
    try:
        return bytes.fromhex(s[2:])
    except ValueError as exc:
        raise ValueError(f"{name}: not hex") from exc


def _key_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 16 or any(ch not in "0123456789abcdef" for ch in value):
        raise ValueError("key_id: expected 16 lowercase hex digits")
    return value


@dataclass(frozen=True)
class ProofRecord:
    kind: str
    image_id: bytes
    journal: bytes
    claim_digest: bytes
    seal: bytes
    selector: bytes
    receipt: bytes | None = None
    stats: dict = field(default_factory=dict)
    public_key: bytes | None = None
    signature: bytes | None = None
    #: attested records: the signing key's id (first 16 hex of SHA-256 of the raw public key)
    key_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown proof kind {self.kind!r}")
        if len(self.image_id) != 32:
            raise ValueError("image_id must be 32 bytes")
        if len(self.claim_digest) != 32:
            raise ValueError("claim_digest must be 32 bytes")
        if len(self.selector) != 4:
            raise ValueError("selector must be 4 bytes")

    @classmethod
    def from_groth16_receipt(
        cls, receipt: Groth16Receipt, receipt_bytes: bytes, *, image_id: bytes, stats: dict | None = None
    ) -> ProofRecord:
        """The record of a parsed RISC Zero Groth16 receipt, for the image id it is checked against."""
        return cls(
            kind="groth16",
            image_id=image_id,
            journal=receipt.journal,
            claim_digest=receipt.claim_digest(),
            seal=receipt.encoded_seal,
            selector=receipt.selector,
            receipt=receipt_bytes,
            stats=stats or {},
        )

    @property
    def is_zero_knowledge(self) -> bool:
        return self.kind == "groth16"

    def to_json(self) -> dict:
        return {
            "version": RECORD_VERSION,
            "kind": self.kind,
            "image_id": _hex(self.image_id),
            "journal": _hex(self.journal),
            "claim_digest": _hex(self.claim_digest),
            "seal": _hex(self.seal),
            "selector": _hex(self.selector),
            "receipt": _hex(self.receipt),
            "stats": self.stats,
            "public_key": _hex(self.public_key),
            "signature": _hex(self.signature),
            "key_id": self.key_id,
        }

    @classmethod
    def from_json(cls, d: dict) -> ProofRecord:
        if not isinstance(d, dict):
            raise ValueError("proof record must be a JSON object")
        missing = [k for k in ("kind", "image_id", "journal", "claim_digest", "seal", "selector") if k not in d]
        if missing:
            raise ValueError(f"proof record is missing {', '.join(missing)}")
        stats = d.get("stats") or {}
        if not isinstance(stats, dict):
            raise ValueError("stats: expected an object")
        return cls(
            kind=d["kind"],
            image_id=_unhex(d["image_id"], "image_id"),  # type: ignore[arg-type]
            journal=_unhex(d["journal"], "journal"),  # type: ignore[arg-type]
            claim_digest=_unhex(d["claim_digest"], "claim_digest"),  # type: ignore[arg-type]
            seal=_unhex(d["seal"], "seal"),  # type: ignore[arg-type]
            selector=_unhex(d["selector"], "selector"),  # type: ignore[arg-type]
            receipt=_unhex(d.get("receipt"), "receipt", optional=True),
            stats=stats,
            public_key=_unhex(d.get("public_key"), "public_key", optional=True),
            signature=_unhex(d.get("signature"), "signature", optional=True),
            key_id=_key_id(d.get("key_id")),
        )
