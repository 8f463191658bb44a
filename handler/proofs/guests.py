"""The Pitch Lake coprocessor's guest formats: its input structs and the journals its guests commit.

Everything is RISC Zero serde (``journal.SerdeWriter``/``SerdeReader``), field by field in the
order the Rust structs declare them (docs/proofs.md, "Pitch Lake guest formats"):

* ``Vec<f64>``: a length word, then each ``f64`` as two words (low first);
* ``usize``: serde writes it as ``u64`` (two words);
* ``DVector<f64>`` (nalgebra): its storage ``{data: Vec<f64>, nrows: usize, ncols: U1}``, where the
  static ``U1`` serialises as unit (nothing), so: the vector, then ``nrows`` as a ``u64``;
* a tuple: its elements in order.

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
from typing import ClassVar

from .errors import JournalDecodeError
from .journal import SerdeReader, SerdeWriter

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


_WRITERS = {
    "f64": lambda w, v: w.f64(float(v)),
    "i64": lambda w, v: w.i64(int(v)),
    "usize": lambda w, v: w.u64(int(v)),
    "vec_f64": _w_vec_f64,
    "dvector": _w_dvector,
    "u32x8": lambda w, v: w.u32_array(tuple(v)),
}
_READERS = {
    "f64": lambda r, what: r.f64(what),
    "i64": lambda r, what: r.i64(what),
    "usize": lambda r, what: r.u64(what),
    "vec_f64": _r_vec_f64,
    "dvector": _r_dvector,
    "u32x8": lambda r, what: r.u32_array(8, what),
}


class GuestStruct:
    """A Rust struct as RISC Zero serde sees it; ``LAYOUT`` gives each field's codec, in order."""

    LAYOUT: ClassVar[dict[str, str]] = {}

    def write(self, w: SerdeWriter) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            _WRITERS[self.LAYOUT[f.name]](w, getattr(self, f.name))

    def encode(self) -> bytes:
        w = SerdeWriter()
        self.write(w)
        return w.bytes()

    @classmethod
    def read(cls, r: SerdeReader):
        return cls(*(_READERS[cls.LAYOUT[f.name]](r, f.name) for f in fields(cls)))  # type: ignore[arg-type]

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
    avg_hourly_gas_fee: tuple[float, ...]
    twap_tolerance: float
    twap_result: float
    LAYOUT: ClassVar[dict[str, str]] = {"avg_hourly_gas_fee": "vec_f64", "twap_tolerance": "f64", "twap_result": "f64"}


@dataclass(frozen=True)
class MaxReturnInput(GuestStruct):
    data: tuple[float, ...]
    LAYOUT: ClassVar[dict[str, str]] = {"data": "vec_f64"}


@dataclass(frozen=True)
class MaxReturnJournal(GuestStruct):
    """What the max-return guest commits: ``(MaxReturnInput, f64)``."""

    data: tuple[float, ...]
    max_return: float
    LAYOUT: ClassVar[dict[str, str]] = {"data": "vec_f64", "max_return": "f64"}


@dataclass(frozen=True)
class RemoveSeasonalityErrorBoundFloatingInput(GuestStruct):
    data: tuple[float, ...]
    slope: float
    intercept: float
    de_seasonalised_detrended_log_base_fee: tuple[float, ...]
    season_param: tuple[float, ...]
    tolerance: float
    LAYOUT: ClassVar[dict[str, str]] = {
        "data": "vec_f64",
        "slope": "f64",
        "intercept": "f64",
        "de_seasonalised_detrended_log_base_fee": "dvector",
        "season_param": "dvector",
        "tolerance": "f64",
    }


@dataclass(frozen=True)
class AddTwap7dErrorBoundFloatingInput(GuestStruct):
    data: tuple[float, ...]
    twap_7d: tuple[float, ...]
    tolerance: float
    LAYOUT: ClassVar[dict[str, str]] = {"data": "vec_f64", "twap_7d": "vec_f64", "tolerance": "f64"}


@dataclass(frozen=True)
class CalculatePtPt1ErrorBoundFloatingInput(GuestStruct):
    de_seasonalised_detrended_log_base_fee: tuple[float, ...]
    pt: tuple[float, ...]
    pt_1: tuple[float, ...]
    tolerance: float
    LAYOUT: ClassVar[dict[str, str]] = {
        "de_seasonalised_detrended_log_base_fee": "dvector",
        "pt": "dvector",
        "pt_1": "dvector",
        "tolerance": "f64",
    }


@dataclass(frozen=True)
class SimulatePriceVerifyPositionInput(GuestStruct):
    start_timestamp: int
    end_timestamp: int
    positions: tuple[float, ...]
    pt: tuple[float, ...]
    pt_1: tuple[float, ...]
    gradient_tolerance: float
    de_seasonalised_detrended_log_base_fee: tuple[float, ...]
    n_periods: int
    num_paths: int
    season_param: tuple[float, ...]
    twap_7d: tuple[float, ...]
    slope: float
    intercept: float
    reserve_price: float
    tolerance: float
    data_length: int
    LAYOUT: ClassVar[dict[str, str]] = {
        "start_timestamp": "i64",
        "end_timestamp": "i64",
        "positions": "vec_f64",
        "pt": "dvector",
        "pt_1": "dvector",
        "gradient_tolerance": "f64",
        "de_seasonalised_detrended_log_base_fee": "dvector",
        "n_periods": "usize",
        "num_paths": "usize",
        "season_param": "dvector",
        "twap_7d": "vec_f64",
        "slope": "f64",
        "intercept": "f64",
        "reserve_price": "f64",
        "tolerance": "f64",
        "data_length": "usize",
    }


@dataclass(frozen=True)
class HashingFeltOutput(GuestStruct):
    hash: tuple[int, ...]
    f64_inputs: tuple[float, ...]
    LAYOUT: ClassVar[dict[str, str]] = {"hash": "u32x8", "f64_inputs": "vec_f64"}


@dataclass(frozen=True)
class ProofCompositionInput(GuestStruct):
    data_8_months: tuple[float, ...]
    data_8_months_hash: tuple[int, ...]
    data_8_months_start_timestamp: int
    data_8_months_end_timestamp: int
    start_timestamp: int
    end_timestamp: int
    twap_start_timestamp: int
    twap_end_timestamp: int
    reserve_price_start_timestamp: int
    reserve_price_end_timestamp: int
    max_return_start_timestamp: int
    max_return_end_timestamp: int
    positions: tuple[float, ...]
    pt: tuple[float, ...]
    pt_1: tuple[float, ...]
    gradient_tolerance: float
    de_seasonalised_detrended_log_base_fee: tuple[float, ...]
    n_periods: int
    num_paths: int
    season_param: tuple[float, ...]
    twap_7d: tuple[float, ...]
    slope: float
    intercept: float
    reserve_price: float
    floating_point_tolerance: float
    reserve_price_tolerance: float
    twap_tolerance: float
    twap_result: float
    max_return: float
    LAYOUT: ClassVar[dict[str, str]] = {
        "data_8_months": "vec_f64",
        "data_8_months_hash": "u32x8",
        **{
            name: "i64"
            for name in (
                "data_8_months_start_timestamp",
                "data_8_months_end_timestamp",
                "start_timestamp",
                "end_timestamp",
                "twap_start_timestamp",
                "twap_end_timestamp",
                "reserve_price_start_timestamp",
                "reserve_price_end_timestamp",
                "max_return_start_timestamp",
                "max_return_end_timestamp",
            )
        },
        "positions": "vec_f64",
        "pt": "dvector",
        "pt_1": "dvector",
        "gradient_tolerance": "f64",
        "de_seasonalised_detrended_log_base_fee": "dvector",
        "n_periods": "usize",
        "num_paths": "usize",
        "season_param": "dvector",
        "twap_7d": "vec_f64",
        **{
            name: "f64"
            for name in (
                "slope",
                "intercept",
                "reserve_price",
                "floating_point_tolerance",
                "reserve_price_tolerance",
                "twap_tolerance",
                "twap_result",
                "max_return",
            )
        },
    }


#: the coprocessor host's tolerance for the TWAP guest (per cent)
TWAP_TOLERANCE_PERCENT = 1.0
