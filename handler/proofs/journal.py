"""Fossil's own per-job journal (``MetricJournal``) and the encodings every journal shares.

``MetricJournal`` (one per job; ``image_id`` = the metric's program id), in RISC Zero serde
(``risc0.serde``)::

    data_commitment: [u32; 8]
    metric:          String   ("twap" | "max_return" | "reserve_price")
    window_start:    i64
    window_end:      i64
    value:           String   (66-char UFixedPoint123x128 hex, docs/pricing.md)
    value_f64:       f64      (the exact float64 the engine produced)

The coprocessor's journals (the composition output and the guests' structs) live in
``coprocessor``; which journal a program commits is ``programs.decode_program_journal``.
Decoders are strict: missing bytes, trailing bytes, non-zero padding, or a malformed
fixed-point string raise ``JournalDecodeError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handler.pricing.felts import felt_to_float, float_to_felt, format_felt

from .errors import JournalDecodeError
from .risc0.serde import U32_MAX, SerdeReader, SerdeWriter

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


def check_commitment(words: tuple[int, ...]) -> tuple[int, ...]:
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
            data_commitment=check_commitment(tuple(data_commitment)),
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
            .u32_array(check_commitment(self.data_commitment))
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
