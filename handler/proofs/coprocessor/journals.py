"""The coprocessor's composition journals: what its composition guest commits.

* ``CompositionJournal``: the 16-field ``ProofCompositionOutput`` of the composition guest at the
  coprocessor's latest commit, in that order. Fields 3..11 (0-based 2..10) are the vault's 9-felt
  ``VerifierData``.
* ``CompositionJournalV1``: the earlier 10-field output that the recorded Groth16 fixture commits.

RISC Zero serde (``risc0.serde``); decoders are strict like every journal decoder here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..journal import check_commitment, f64_to_fixed_hex, parse_fixed_hex
from ..risc0.serde import SerdeReader, SerdeWriter

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
            check_commitment(tuple(data_commitment)),
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
        w = SerdeWriter().u32_array(check_commitment(self.data_8_months_hash))
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
        w = SerdeWriter().u32_array(check_commitment(self.data_8_months_hash))
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
