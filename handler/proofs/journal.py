"""RISC Zero serde (32-bit little-endian words) and the Fossil journals.

Serde rules (risc0 ``zkvm/src/serde``; docs/proofs.md):
u8/u16/u32/i32/bool → one word; u64/i64/f64 → two words, low word first;
String → length word + UTF-8 bytes zero-padded to 4; ``[u32; N]`` → N words, no
prefix; ``Vec<T>`` → length word + elements.

Journals:

* ``MetricJournal`` (one per job; ``image_id`` = the metric's program id)::

      data_commitment: [u32; 8]
      metric:          String   ("twap" | "max_return" | "reserve_price")
      window_start:    i64
      window_end:      i64
      value:           String   (66-char UFixedPoint123x128 hex, docs/pricing.md)
      value_f64:       f64      (the exact float64 the engine produced)

* ``CompositionJournal`` (one per completed group): the reference composition
  guest's 16-field ``ProofCompositionOutput`` (docs/pricing.md), in that order.
  Fields 3..11 (0-based 2..10) are the vault's 9-felt ``VerifierData``.

Decoders are strict: missing bytes, trailing bytes, non-zero padding, or a
malformed fixed-point string raise ``JournalDecodeError``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, fields

from handler.pricing.felts import felt_to_float, float_to_felt, format_felt

from .errors import JournalDecodeError

U32_MAX = 0xFFFFFFFF
_FIXED_HEX = re.compile(r"0x[0-9a-f]{64}")
METRICS = ("twap", "max_return", "reserve_price")


# ---------------------------------------------------------------- fixed point


# The fixed-point encoding is the pricing engine's (one implementation, docs/pricing.md); the journal
# names are kept for readers who know the guest's code.
f64_to_fixed_felt = float_to_felt
fixed_hex = format_felt
fixed_felt_to_f64 = felt_to_float


def f64_to_fixed_hex(x: float) -> str:
    return format_felt(float_to_felt(x))


def parse_fixed_hex(s: str) -> int:
    if not _FIXED_HEX.fullmatch(s):
        raise JournalDecodeError(f"fixed-point field {s[:80]!r} is not '0x' + 64 lowercase hex digits")
    return int(s, 16)


# ---------------------------------------------------------------- serde


class SerdeWriter:
    def __init__(self) -> None:
        self._buf = bytearray()

    def u32(self, v: int) -> SerdeWriter:
        if not 0 <= v <= U32_MAX:
            raise ValueError(f"u32 out of range: {v}")
        self._buf += struct.pack("<I", v)
        return self

    def i32(self, v: int) -> SerdeWriter:
        self._buf += struct.pack("<i", v)
        return self

    def u64(self, v: int) -> SerdeWriter:
        if not 0 <= v < 1 << 64:
            raise ValueError(f"u64 out of range: {v}")
        self._buf += struct.pack("<II", v & U32_MAX, v >> 32)
        return self

    def i64(self, v: int) -> SerdeWriter:
        if not -(1 << 63) <= v < 1 << 63:
            raise ValueError(f"i64 out of range: {v}")
        return self.u64(v & ((1 << 64) - 1))

    def f64(self, v: float) -> SerdeWriter:
        (bits,) = struct.unpack("<Q", struct.pack("<d", v))
        return self.u64(bits)

    def bool(self, v: bool) -> SerdeWriter:
        return self.u32(1 if v else 0)

    def string(self, s: str) -> SerdeWriter:
        return self._bytes_padded(s.encode("utf-8"))

    def _bytes_padded(self, b: bytes) -> SerdeWriter:
        self.u32(len(b))
        self._buf += b + b"\0" * (-len(b) % 4)
        return self

    def u32_array(self, words: tuple[int, ...] | list[int]) -> SerdeWriter:
        for w in words:
            self.u32(w)
        return self

    def bytes(self) -> bytes:
        return bytes(self._buf)


class SerdeReader:
    def __init__(self, data: bytes) -> None:
        if len(data) % 4:
            raise JournalDecodeError(f"journal length {len(data)} is not a multiple of 4 bytes")
        self._data = bytes(data)
        self._pos = 0

    def _take(self, n: int, what: str) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise JournalDecodeError(
                f"journal ends early while reading {what} at byte {self._pos} "
                f"(need {n}, have {len(self._data) - self._pos})"
            )
        out = self._data[self._pos : end]
        self._pos = end
        return out

    def u32(self, what: str = "u32") -> int:
        return struct.unpack("<I", self._take(4, what))[0]

    def i32(self, what: str = "i32") -> int:
        return struct.unpack("<i", self._take(4, what))[0]

    def u64(self, what: str = "u64") -> int:
        lo, hi = struct.unpack("<II", self._take(8, what))
        return lo | (hi << 32)

    def i64(self, what: str = "i64") -> int:
        v = self.u64(what)
        return v - (1 << 64) if v >> 63 else v

    def f64(self, what: str = "f64") -> float:
        return struct.unpack("<d", struct.pack("<Q", self.u64(what)))[0]

    def bool(self, what: str = "bool") -> bool:
        v = self.u32(what)
        if v not in (0, 1):
            raise JournalDecodeError(f"{what}: bool word {v} is neither 0 nor 1")
        return v == 1

    def string(self, what: str = "string", max_len: int = 1 << 20) -> str:
        n = self.u32(f"{what} length")
        if n > max_len:
            raise JournalDecodeError(f"{what}: length {n} exceeds {max_len}")
        raw = self._take(n, what)
        pad = self._take(-n % 4, f"{what} padding")
        if pad.strip(b"\0"):
            raise JournalDecodeError(f"{what}: non-zero padding bytes")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JournalDecodeError(f"{what}: not UTF-8") from exc

    def u32_array(self, n: int, what: str = "[u32]") -> tuple[int, ...]:
        return tuple(self.u32(what) for _ in range(n))

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise JournalDecodeError(f"journal has {len(self._data) - self._pos} trailing bytes after byte {self._pos}")


def _check_commitment(words: tuple[int, ...]) -> tuple[int, ...]:
    words = tuple(int(w) for w in words)
    if len(words) != 8 or not all(0 <= w <= U32_MAX for w in words):
        raise ValueError("data commitment must be 8 u32 words")
    return words


# ---------------------------------------------------------------- per-job journal


@dataclass(frozen=True)
class MetricJournal:
    data_commitment: tuple[int, ...]
    metric: str
    window_start: int
    window_end: int
    value: str  # 66-char fixed hex
    value_f64: float

    @classmethod
    def build(
        cls,
        *,
        data_commitment: tuple[int, ...] | list[int],
        metric: str,
        window_start: int,
        window_end: int,
        value: float,
    ) -> MetricJournal:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}")
        return cls(
            data_commitment=_check_commitment(tuple(data_commitment)),
            metric=metric,
            window_start=int(window_start),
            window_end=int(window_end),
            value=f64_to_fixed_hex(float(value)),
            value_f64=float(value),
        )

    @property
    def value_felt(self) -> int:
        return int(self.value, 16)

    def encode(self) -> bytes:
        return (
            SerdeWriter()
            .u32_array(_check_commitment(self.data_commitment))
            .string(self.metric)
            .i64(self.window_start)
            .i64(self.window_end)
            .string(self.value)
            .f64(self.value_f64)
            .bytes()
        )

    @classmethod
    def decode(cls, data: bytes) -> MetricJournal:
        r = SerdeReader(data)
        commitment = r.u32_array(8, "data_commitment")
        metric = r.string("metric", max_len=64)
        if metric not in METRICS:
            raise JournalDecodeError(f"metric: unknown metric {metric!r}")
        start = r.i64("window_start")
        end = r.i64("window_end")
        value = r.string("value", max_len=66)
        felt = parse_fixed_hex(value)
        value_f64 = r.f64("value_f64")
        r.finish()
        if f64_to_fixed_felt(value_f64) != felt:
            raise JournalDecodeError("value: fixed-point string does not match value_f64")
        return cls(commitment, metric, start, end, value, value_f64)

    def to_json(self) -> dict:
        return {
            "type": "metric",
            "data_commitment": [f"0x{w:08x}" for w in self.data_commitment],
            "metric": self.metric,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "value": self.value,
            "value_f64": self.value_f64,
        }


# ---------------------------------------------------------------- composition journal

#: tolerances the reference driver uses (docs/pricing.md)
DEFAULT_TOLERANCES = {
    "floating_point_tolerance": 0.00001,
    "reserve_price_tolerance": 5.0,
    "twap_tolerance": 1.0,
    "gradient_tolerance": 0.05,
}


@dataclass(frozen=True)
class CompositionJournal:
    """``ProofCompositionOutput`` at coprocessor HEAD; field order = serialisation order."""

    data_8_months_hash: tuple[int, ...]
    start_timestamp: int
    end_timestamp: int
    reserve_price_start_timestamp: int
    reserve_price_end_timestamp: int
    reserve_price: str
    twap_start_timestamp: int
    twap_end_timestamp: int
    twap_result: str
    max_return_start_timestamp: int
    max_return_end_timestamp: int
    max_return: str
    floating_point_tolerance: str
    reserve_price_tolerance: str
    twap_tolerance: str
    gradient_tolerance: str

    _STRINGS = frozenset(
        {
            "reserve_price",
            "twap_result",
            "max_return",
            "floating_point_tolerance",
            "reserve_price_tolerance",
            "twap_tolerance",
            "gradient_tolerance",
        }
    )

    @classmethod
    def build(
        cls,
        *,
        data_commitment: tuple[int, ...] | list[int],
        start_timestamp: int,
        end_timestamp: int,
        reserve_price: tuple[int, int, float],
        twap: tuple[int, int, float],
        max_return: tuple[int, int, float],
        tolerances: dict[str, float] | None = None,
    ) -> CompositionJournal:
        """Each metric is ``(window_start, window_end, value)``."""
        tol = {**DEFAULT_TOLERANCES, **(tolerances or {})}
        return cls(
            _check_commitment(tuple(data_commitment)),
            int(start_timestamp),
            int(end_timestamp),
            int(reserve_price[0]),
            int(reserve_price[1]),
            f64_to_fixed_hex(reserve_price[2]),
            int(twap[0]),
            int(twap[1]),
            f64_to_fixed_hex(twap[2]),
            int(max_return[0]),
            int(max_return[1]),
            f64_to_fixed_hex(max_return[2]),
            f64_to_fixed_hex(tol["floating_point_tolerance"]),
            f64_to_fixed_hex(tol["reserve_price_tolerance"]),
            f64_to_fixed_hex(tol["twap_tolerance"]),
            f64_to_fixed_hex(tol["gradient_tolerance"]),
        )

    def encode(self) -> bytes:
        w = SerdeWriter().u32_array(_check_commitment(self.data_8_months_hash))
        for f in fields(self)[1:]:
            v = getattr(self, f.name)
            if f.name in self._STRINGS:
                parse_fixed_hex(v)
                w.string(v)
            else:
                w.i64(v)
        return w.bytes()

    @classmethod
    def decode(cls, data: bytes) -> CompositionJournal:
        r = SerdeReader(data)
        values: list = [r.u32_array(8, "data_8_months_hash")]
        for f in fields(cls)[1:]:
            if f.name in cls._STRINGS:
                s = r.string(f.name, max_len=66)
                parse_fixed_hex(s)
                values.append(s)
            else:
                values.append(r.i64(f.name))
        r.finish()
        return cls(*values)

    def verifier_data(self) -> list[int]:
        """The vault's 9-felt ``VerifierData`` = the middle 9 fields, as felts."""
        return [
            self.reserve_price_start_timestamp,
            self.reserve_price_end_timestamp,
            int(self.reserve_price, 16),
            self.twap_start_timestamp,
            self.twap_end_timestamp,
            int(self.twap_result, 16),
            self.max_return_start_timestamp,
            self.max_return_end_timestamp,
            int(self.max_return, 16),
        ]

    def to_json(self) -> dict:
        out: dict = {"type": "composition"}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = [f"0x{x:08x}" for x in v] if f.name == "data_8_months_hash" else v
        return out


# ---------------------------------------------------------------- the coprocessor's earlier journal


@dataclass(frozen=True)
class CompositionJournalV1:
    """The 10-field ``ProofCompositionOutput`` that the Pitch Lake verifier's ``decode_journal``
    reads and that the coprocessor's recorded Groth16 fixture commits (tests/data/receipts):
    ``data_8_months_hash [u32; 8], start_timestamp, end_timestamp: i64``, then seven fixed-point
    strings in this order. One window (start, end) serves all three results."""

    data_8_months_hash: tuple[int, ...]
    start_timestamp: int
    end_timestamp: int
    reserve_price: str
    floating_point_tolerance: str
    reserve_price_tolerance: str
    twap_tolerance: str
    gradient_tolerance: str
    twap_result: str
    max_return: str

    def encode(self) -> bytes:
        w = SerdeWriter().u32_array(_check_commitment(self.data_8_months_hash))
        w.i64(self.start_timestamp).i64(self.end_timestamp)
        for f in fields(self)[3:]:
            w.string(getattr(self, f.name))
        return w.bytes()

    @classmethod
    def decode(cls, data: bytes) -> CompositionJournalV1:
        r = SerdeReader(data)
        values: list = [r.u32_array(8, "data_8_months_hash"), r.i64("start_timestamp"), r.i64("end_timestamp")]
        for f in fields(cls)[3:]:
            s = r.string(f.name, max_len=66)
            parse_fixed_hex(s)
            values.append(s)
        r.finish()
        return cls(*values)

    def verifier_data(self) -> list[int]:
        """The vault's 9 felts (the one window repeated for each result)."""
        s, e = self.start_timestamp, self.end_timestamp
        return [s, e, int(self.reserve_price, 16), s, e, int(self.twap_result, 16), s, e, int(self.max_return, 16)]

    def to_json(self) -> dict:
        out: dict = {"type": "composition_v1"}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = [f"0x{x:08x}" for x in v] if f.name == "data_8_months_hash" else v
        return out


JOURNAL_TYPES: dict[str, type[MetricJournal] | type[CompositionJournal] | type[CompositionJournalV1]] = {
    "metric": MetricJournal,
    "composition": CompositionJournal,
    "composition_v1": CompositionJournalV1,
}


def decode_journal(data: bytes, kind: str) -> MetricJournal | CompositionJournal | CompositionJournalV1:
    if kind not in JOURNAL_TYPES:
        raise ValueError(f"unknown journal kind {kind!r}")
    return JOURNAL_TYPES[kind].decode(data)


def decode_program_journal(program: str, data: bytes):
    """The journal of a dev/attested program: a metric journal, the 16-field composition journal,
    or (programs named after the coprocessor's guests) what that guest commits."""
    from .guests import MaxReturnJournal, TwapErrorBoundInput

    if program == "composition":
        return CompositionJournal.decode(data)
    if program == "twap-error-bound-floating":
        return TwapErrorBoundInput.decode(data)
    if program == "max-return-floating":
        return MaxReturnJournal.decode(data)
    return MetricJournal.decode(data)


def decode_any_journal(data: bytes) -> MetricJournal | CompositionJournal | CompositionJournalV1:
    """The first journal type the bytes decode as exactly (decoders are strict, so at most one fits)."""
    errors = []
    for name, cls in JOURNAL_TYPES.items():
        try:
            return cls.decode(data)
        except JournalDecodeError as exc:
            errors.append(f"{name}: {exc}")
    raise JournalDecodeError("journal is in no known format (" + "; ".join(errors) + ")")
