"""The Pitch Lake coprocessor's guest formats: its input structs and the journals its guests commit.

Everything is RISC Zero serde (``journal.SerdeWriter``/``SerdeReader``), field by field in the
order the Rust structs declare them (docs/proofs.md, "Pitch Lake guest formats"):

* ``Vec<f64>``: a length word, then each ``f64`` as two words (low first);
* ``usize``: serde writes it as ``u64`` (two words);
* ``DVector<f64>`` (nalgebra): its storage ``{data: Vec<f64>, nrows: usize, ncols: U1}``, where the
  static ``U1`` serialises as unit (nothing), so: the vector, then ``nrows`` as a ``u64``;
* a tuple: its elements in order;
* ``Felt`` (starknet-types-core): RISC Zero serde is not human-readable, so a felt is
  ``serialize_bytes`` of its 32 big-endian bytes: a length word (32), then the bytes as they are.

What each guest reads and commits (host: ``ExecutorEnv::builder().write(&input)``):

| guest | reads | commits |
|---|---|---|
| twap-error-bound-floating | ``TwapErrorBoundInput`` | the same struct |
| max-return-floating | ``MaxReturnInput`` | ``(MaxReturnInput, f64)`` |
| remove-seasonality-error-bound-floating | ``RemoveSeasonalityErrorBoundFloatingInput`` | the same struct |
| add-twap-7d-error-bound-floating | ``AddTwap7dErrorBoundFloatingInput`` | the same struct |
| calculate-pt-pt1-error-bound-floating | ``CalculatePtPt1ErrorBoundFloatingInput`` | the same struct |
| simulate-price-verify-position-floating | ``SimulatePriceVerifyPositionInput`` | the same struct |
| hashing-felts | ``HashingFeltInput`` | ``HashingFeltOutput`` |
| proof composition | ``ProofCompositionInput`` | ``ProofCompositionOutput`` (``journal.CompositionJournal``) |

Decoders are strict like the journal ones: missing or trailing bytes raise ``JournalDecodeError``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, get_type_hints

from ..errors import JournalDecodeError
from ..risc0.serde import SerdeReader, SerdeWriter

MAX_ELEMENTS = 1 << 20


# ---------------------------------------------------------------- field codecs


def _w_vec_f64(w: SerdeWriter, values) -> None:
    values = list(values)
    w.u32(len(values))
    for v in values:
        w.f64(float(v))


def _r_vec_f64(r: SerdeReader, what: str) -> tuple[float, ...]:
    n = r.u32(f"{what} length")
    if n > MAX_ELEMENTS:
        raise JournalDecodeError(f"{what}: length {n} is implausible")
    return tuple(r.f64(what) for _ in range(n))


def _w_dvector(w: SerdeWriter, values) -> None:
    values = list(values)
    _w_vec_f64(w, values)
    w.u64(len(values))  # nrows (Dyn); ncols is the static U1: nothing


def _r_dvector(r: SerdeReader, what: str) -> tuple[float, ...]:
    values = _r_vec_f64(r, what)
    nrows = r.u64(f"{what} nrows")
    if nrows != len(values):
        raise JournalDecodeError(f"{what}: nrows {nrows} but {len(values)} values")
    return values


STARK_PRIME = (1 << 251) + 17 * (1 << 192) + 1


def _w_vec_felt(w: SerdeWriter, values) -> None:
    values = list(values)
    w.u32(len(values))
    for v in values:
        v = int(v)
        if not 0 <= v < STARK_PRIME:
            raise ValueError(f"felt {v:#x} is not below the Stark prime")
        w.byte_string(v.to_bytes(32, "big"))


def _r_vec_felt(r: SerdeReader, what: str) -> tuple[int, ...]:
    n = r.u32(f"{what} length")
    if n > MAX_ELEMENTS:
        raise JournalDecodeError(f"{what}: length {n} is implausible")
    out = []
    for _ in range(n):
        if r.u32(f"{what} felt length") != 32:
            raise JournalDecodeError(f"{what}: a felt is not 32 bytes")
        value = int.from_bytes(r.raw(32, what), "big")
        if value >= STARK_PRIME:
            raise JournalDecodeError(f"{what}: felt {value:#x} is not below the Stark prime")
        out.append(value)
    return tuple(out)


_WRITERS = {
    "f64": lambda w, v: w.f64(float(v)),
    "i64": lambda w, v: w.i64(int(v)),
    "usize": lambda w, v: w.u64(int(v)),
    "vec_f64": _w_vec_f64,
    "dvector": _w_dvector,
    "u32x8": lambda w, v: w.u32_array(tuple(v)),
    "vec_felt": _w_vec_felt,
}
_READERS = {
    "f64": lambda r, what: r.f64(what),
    "i64": lambda r, what: r.i64(what),
    "usize": lambda r, what: r.u64(what),
    "vec_f64": _r_vec_f64,
    "dvector": _r_dvector,
    "u32x8": lambda r, what: r.u32_array(8, what),
    "vec_felt": _r_vec_felt,
}


# A field's annotation names its codec: the Rust type it has in the guest's struct.
F64 = Annotated[float, "f64"]
I64 = Annotated[int, "i64"]
Usize = Annotated[int, "usize"]
VecF64 = Annotated[tuple[float, ...], "vec_f64"]
DVector = Annotated[tuple[float, ...], "dvector"]
U32x8 = Annotated[tuple[int, ...], "u32x8"]
VecFelt = Annotated[tuple[int, ...], "vec_felt"]

_LAYOUTS: dict[type, dict[str, str]] = {}


class GuestStruct:
    """A Rust struct as RISC Zero serde sees it: its dataclass fields, in order, each with the codec
    its annotation names (``F64``, ``VecF64``, ...)."""

    @classmethod
    def layout(cls) -> dict[str, str]:
        if cls not in _LAYOUTS:
            hints = get_type_hints(cls, include_extras=True)
            _LAYOUTS[cls] = {f.name: hints[f.name].__metadata__[0] for f in fields(cls)}  # type: ignore[arg-type]
        return _LAYOUTS[cls]

    def write(self, w: SerdeWriter) -> None:
        for name, codec in self.layout().items():
            _WRITERS[codec](w, getattr(self, name))

    def encode(self) -> bytes:
        w = SerdeWriter()
        self.write(w)
        return w.bytes()

    @classmethod
    def read(cls, r: SerdeReader):
        return cls(*(_READERS[codec](r, name) for name, codec in cls.layout().items()))

    @classmethod
    def decode(cls, data: bytes):
        r = SerdeReader(data)
        out = cls.read(r)
        r.finish()
        return out

    def to_json(self) -> dict:
        return {"type": type(self).__name__, **{f.name: getattr(self, f.name) for f in fields(self)}}  # type: ignore[arg-type]


@dataclass(frozen=True)
class TwapErrorBoundInput(GuestStruct):
    avg_hourly_gas_fee: VecF64
    twap_tolerance: F64
    twap_result: F64


@dataclass(frozen=True)
class MaxReturnInput(GuestStruct):
    data: VecF64


@dataclass(frozen=True)
class MaxReturnJournal(GuestStruct):
    """What the max-return guest commits: ``(MaxReturnInput, f64)``."""

    data: VecF64
    max_return: F64


@dataclass(frozen=True)
class RemoveSeasonalityErrorBoundFloatingInput(GuestStruct):
    data: VecF64
    slope: F64
    intercept: F64
    de_seasonalised_detrended_log_base_fee: DVector
    season_param: DVector
    tolerance: F64


@dataclass(frozen=True)
class AddTwap7dErrorBoundFloatingInput(GuestStruct):
    data: VecF64
    twap_7d: VecF64
    tolerance: F64


@dataclass(frozen=True)
class CalculatePtPt1ErrorBoundFloatingInput(GuestStruct):
    de_seasonalised_detrended_log_base_fee: DVector
    pt: DVector
    pt_1: DVector
    tolerance: F64


@dataclass(frozen=True)
class SimulatePriceVerifyPositionInput(GuestStruct):
    start_timestamp: I64
    end_timestamp: I64
    positions: VecF64
    pt: DVector
    pt_1: DVector
    gradient_tolerance: F64
    de_seasonalised_detrended_log_base_fee: DVector
    n_periods: Usize
    num_paths: Usize
    season_param: DVector
    twap_7d: VecF64
    slope: F64
    intercept: F64
    reserve_price: F64
    tolerance: F64
    data_length: Usize


@dataclass(frozen=True)
class HashingFeltInput(GuestStruct):
    inputs: VecFelt


@dataclass(frozen=True)
class HashingFeltOutput(GuestStruct):
    hash: U32x8
    f64_inputs: VecF64


@dataclass(frozen=True)
class ProofCompositionInput(GuestStruct):
    data_8_months: VecF64
    data_8_months_hash: U32x8
    data_8_months_start_timestamp: I64
    data_8_months_end_timestamp: I64
    start_timestamp: I64
    end_timestamp: I64
    twap_start_timestamp: I64
    twap_end_timestamp: I64
    reserve_price_start_timestamp: I64
    reserve_price_end_timestamp: I64
    max_return_start_timestamp: I64
    max_return_end_timestamp: I64
    positions: VecF64
    pt: DVector
    pt_1: DVector
    gradient_tolerance: F64
    de_seasonalised_detrended_log_base_fee: DVector
    n_periods: Usize
    num_paths: Usize
    season_param: DVector
    twap_7d: VecF64
    slope: F64
    intercept: F64
    reserve_price: F64
    floating_point_tolerance: F64
    reserve_price_tolerance: F64
    twap_tolerance: F64
    twap_result: F64
    max_return: F64


#: the coprocessor host's tolerance for the TWAP guest (per cent)
TWAP_TOLERANCE_PERCENT = 1.0
