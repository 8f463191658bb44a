"""Reserve price: the reference ("original") jump-model pipeline, or the named fallback.

Which model prices is decided by ``model_choice`` (the reference jump model below
where hourly data over 7 days or more identifies it and its fit and price are usable,
else the zero-drift log-normal walk of ``lognormal``); the result carries ``model``
and ``model_reason``. ``docs/pricing.md`` has the backtest behind the choice.

1. 7-day TWAP series (partial windows at the start); strike = its last value.
2. OLS of ln x on the index: slope, intercept, detrended residual.
3. 12 seasonal terms by least squares on hours since the first sample.
4. pt = e[1:], pt_1 = e[:-1].
5-6. Mean-reverting jump model fitted by maximum likelihood (``mrj.fit_mrj``).
7-10. Monte Carlo with the stochastic trend, capped payoff, discount (``simulate``).

Series shorter than the reference's 2160 points scale the 168-point TWAP window
and the 720-step horizon in proportion (in buckets).

Bucket size. The reference is hourly; Fossil prices ranges shorter than 7 days on
1-minute buckets. The bucket length ``b`` (``bucket_seconds``; inferred from the
timestamps as their median spacing, 3600 without timestamps) sets the simulation
step: ``step_hours = b / 3600``. The constants that are units rather than window
lengths follow calendar time (see ``simulate``): seasonal time advances by
``step_hours`` per step from ``H = floor(span / b) * step_hours`` (the time of the
last bucket, in hours since the first), the trend step is ``delta = step_hours/24``
days and the trend volatility is ``sd(diff ln TWAP7) * sqrt(168 / step_hours)``
(per-step sd times sqrt(steps per week)). For hourly buckets these are exactly the
reference's ``H = floor(span/3600)``, ``1/24`` and ``sqrt(168)``.

Identifiable seasonality. A harmonic of period P hours (24/k or 168/k, k = 1, 2, 4)
is fitted only when the data covers at least one full period, ``n * b / 3600 >= P``
(so any hourly series of >= 168 points keeps all 12 columns, exactly as the
reference). A 12-hour window cannot tell a daily or weekly cycle from the trend, and
least squares would return huge cancelling coefficients that the simulation then
extrapolates. Dropped columns report 0.0, so ``season_params`` always has the
reference's 12 entries in the reference's order; ``season_terms`` says which were
fitted. The verifier (``verify``) applies the same rule through
``remove_trend_and_seasonality``.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .commitment import data_commitment
from .errors import InsufficientData, InvalidParameters, InvalidSeries
from .felts import float_to_felt
from .lognormal import lognormal_inputs, simulate_lognormal
from .model_choice import LOGNORMAL, MODELS, MRJ, mrj_fit_problem, mrj_price_problem, mrj_unidentifiable
from .mrj import GRADIENT_TOLERANCE, PARAM_NAMES, fit_mrj
from .series import check_unix_seconds
from .simulate import SEASONAL_PERIODS, SimulationInputs, seasonal_basis, simulate_payoff
from .twap import as_series, trailing_mean

REFERENCE_POINTS = 2160
REFERENCE_TWAP_WINDOW = 168
REFERENCE_N_PERIODS = 720
MIN_POINTS = 16  # the log-normal model's floor; the jump model needs 168 hourly buckets (model_choice)
DEFAULT_NUM_PATHS = 15000
TREND_VOL_SCALE = math.sqrt(168.0)  # hourly steps; sqrt(168 / step_hours) in general
HOUR_SECONDS = 3600
SEED_TAG = b"fossil-pricing/reserve-price/v1"


def scaled_window(reference_window: int, n: int, bucket_seconds: int = HOUR_SECONDS) -> int:
    """``max(1, floor(ref * n / 2160))``; capped at the reference value for hourly buckets only.

    A vault's range is three rounds and the option runs one more, so the horizon is
    a third of the range (720 of 2160 hours) and the averaging window 168/720 of it.
    Hourly series longer than 90 days keep the reference's 720 / 168 (it prices on
    the last 2160 hours); minute and block series are never capped, so a 3-day
    minute range prices a 1-day round, not a 12-hour one.
    """
    scaled = max(1, (reference_window * n) // REFERENCE_POINTS)
    return min(reference_window, scaled) if int(bucket_seconds) == HOUR_SECONDS else scaled


@dataclass(frozen=True)
class SeasonalFit:
    slope: float
    intercept: float
    season_params: np.ndarray  # always 12, 0.0 for the harmonics not fitted
    residuals: np.ndarray  # de-seasonalised detrended log base fee, length n
    season_terms: np.ndarray = None  # type: ignore[assignment]  # set in __post_init__; bool (12,): which columns were fitted

    def __post_init__(self) -> None:
        if self.season_terms is None:
            object.__setattr__(self, "season_terms", np.ones(12, dtype=bool))


def _checked_timestamps(timestamps, n: int) -> np.ndarray:
    ts = np.asarray(timestamps, dtype=np.int64)
    if ts.shape != (n,):
        raise InvalidSeries(f"{len(ts)} timestamps for {n} values")
    if n > 1 and np.any(np.diff(ts) <= 0):
        raise InvalidSeries("timestamps must be strictly increasing")
    if n:
        check_unix_seconds(int(ts[0]), int(ts[-1]))
    return ts


def hours_since_start(timestamps, n: int) -> np.ndarray:
    if timestamps is None:
        return np.arange(n, dtype=np.float64)
    ts = _checked_timestamps(timestamps, n)
    return (ts - ts[0]).astype(np.float64) / 3600.0


def infer_bucket_seconds(timestamps, n: int) -> int:
    """The series' bucket length: the median timestamp spacing (3600 without timestamps or with one point)."""
    if timestamps is None or n < 2:
        return HOUR_SECONDS
    ts = _checked_timestamps(timestamps, n)
    return int(np.median(np.diff(ts)))


def coverage_hours(timestamps, n: int, bucket_seconds: int | None = None) -> float:
    """Hours the buckets cover: first bucket start to last bucket end (``n`` for n contiguous hours)."""
    b = infer_bucket_seconds(timestamps, n) if bucket_seconds is None else int(bucket_seconds)
    if timestamps is None:
        return n * b / 3600.0
    ts = _checked_timestamps(timestamps, n)
    return (int(ts[-1]) - int(ts[0]) + b) / 3600.0


def seasonal_terms(span_hours: float) -> np.ndarray:
    """Which of the 12 reference columns are identifiable: period <= span (both sin and cos)."""
    return np.repeat(np.asarray(SEASONAL_PERIODS, dtype=np.float64) <= span_hours + 1e-9, 2)


def remove_trend_and_seasonality(values, timestamps=None, *, bucket_seconds: int | None = None) -> SeasonalFit:
    """Steps 2-3: OLS trend on the index, then the identifiable seasonal terms on hours since the first sample.

    The harmonics whose period exceeds the data's coverage are left out of the
    least squares and reported as 0.0 (see the module docstring).
    """
    x = as_series(values)
    n = len(x)
    y = np.log(x)
    index = np.arange(n, dtype=np.float64)
    design = np.column_stack([index, np.ones(n)])
    (slope, intercept), *_ = np.linalg.lstsq(design, y, rcond=None)
    detrended = y - (slope * index + intercept)
    basis = seasonal_basis(hours_since_start(timestamps, n))
    terms = seasonal_terms(coverage_hours(timestamps, n, bucket_seconds))
    if terms.all():
        season, *_ = np.linalg.lstsq(basis, detrended, rcond=None)
    else:
        season = np.zeros(basis.shape[1])
        if terms.any():
            season[terms], *_ = np.linalg.lstsq(basis[:, terms], detrended, rcond=None)
    residuals = detrended - basis @ season
    return SeasonalFit(float(slope), float(intercept), season, residuals, terms)


def trend_volatility(twap_7d: np.ndarray, step_hours: float = 1.0) -> float:
    """``sd1(diff(ln TWAP7)) * sqrt(168 / step_hours)``: per-step sd times sqrt(steps per week).

    ``sqrt(168)`` (the reference) for hourly steps.
    """
    rho = np.diff(np.log(twap_7d))
    rho = rho[np.isfinite(rho)]
    if len(rho) < 2:
        raise InsufficientData("reserve_price trend volatility", 3, len(rho) + 1)
    scale = TREND_VOL_SCALE if step_hours == 1.0 else math.sqrt(168.0 / step_hours)
    return float(np.std(rho, ddof=1) * scale)


def default_seed(commitment: list[int], num_paths: int, n_periods: int, twap_window: int) -> int:
    """64-bit seed from the data commitment and the request, so a request always gives the same number."""
    h = hashlib.sha256(SEED_TAG)
    h.update(struct.pack(">8I", *commitment))
    h.update(struct.pack(">QQQ", num_paths, n_periods, twap_window))
    return int.from_bytes(h.digest()[:8], "big")


def commitment_for_values(values: np.ndarray) -> list[int]:
    return data_commitment([float_to_felt(v) for v in values.tolist()])


@dataclass(frozen=True)
class ReservePriceResult:
    price: float
    standard_error: float
    seed: int
    num_paths: int
    n_periods: int
    twap_window: int
    strike: float
    twap: float  # mean of the whole series, left to right
    slope: float
    intercept: float
    season_params: np.ndarray
    params: np.ndarray  # (a, phi, mu_j, sigma_sq, sigma_sq_j, lambda)
    gradient: np.ndarray  # reference forward-difference gradient at params
    gradient_ok: bool
    nll: float
    trend_volatility: float
    season_offset_hours: float
    residuals: np.ndarray
    twap_7d: np.ndarray
    commitment: list[int]
    antithetic: bool
    optimizer: str = "L-BFGS-B"
    gradient_tolerance: float = GRADIENT_TOLERANCE
    extra: dict = field(default_factory=dict)
    bucket_seconds: int = HOUR_SECONDS
    season_terms: np.ndarray = field(default_factory=lambda: np.ones(12, dtype=bool))
    free_params: np.ndarray = field(default_factory=lambda: np.ones(6, dtype=bool))
    model: str = MRJ  # which model priced it (model_choice); "lognormal" is the named fallback
    model_reason: str = ""  # why the jump model did not price it (empty for "mrj")
    mrj_fitted: bool = True  # False when the jump model was not even fitted (params, gradient are zeros)
    sigma_step: float = 0.0  # log-normal model: per-bucket volatility
    volatility_lag: int = 0  # log-normal model: the lag its dispersion was measured at, in buckets
    start_level: float = 0.0  # log-normal model: where the walk starts (the strike)
    horizon_variance: float = 0.0  # log-normal model: mean square log change of the window average over the horizon
    volatility_floored: bool = False  # log-normal model: the range moved less than the floor and the floor priced it

    @property
    def pt(self) -> np.ndarray:
        return self.residuals[1:]

    @property
    def pt_1(self) -> np.ndarray:
        return self.residuals[:-1]

    def to_json(self, *, include_series: bool = False) -> dict:
        """Plain lists, floats and ints; the long series (residuals, twap_7d) only on request."""
        out = {
            "price": float(self.price),
            "standard_error": float(self.standard_error),
            "seed": int(self.seed),
            "num_paths": int(self.num_paths),
            "n_periods": int(self.n_periods),
            "twap_window": int(self.twap_window),
            "strike": float(self.strike),
            "twap": float(self.twap),
            "slope": float(self.slope),
            "intercept": float(self.intercept),
            "season_params": [float(v) for v in self.season_params],
            "params": {name: float(v) for name, v in zip(PARAM_NAMES, self.params)},
            "gradient": [float(v) for v in self.gradient],
            "gradient_ok": bool(self.gradient_ok),
            "gradient_tolerance": float(self.gradient_tolerance),
            "nll": float(self.nll),
            "trend_volatility": float(self.trend_volatility),
            "season_offset_hours": float(self.season_offset_hours),
            "commitment": [int(w) for w in self.commitment],
            "antithetic": bool(self.antithetic),
            "optimizer": self.optimizer,
            "bucket_seconds": int(self.bucket_seconds),
            "season_terms": [bool(v) for v in self.season_terms],
            "free_params": [bool(v) for v in self.free_params],
            "model": self.model,
            "model_reason": self.model_reason,
            "mrj_fitted": bool(self.mrj_fitted),
        }
        if self.model == LOGNORMAL:
            out["lognormal"] = {
                "sigma_step": float(self.sigma_step),
                "volatility_lag": int(self.volatility_lag),
                "start_level": float(self.start_level),
                "horizon_variance": float(self.horizon_variance),
                "volatility_floored": bool(self.volatility_floored),
            }
        if include_series:
            out["residuals"] = [float(v) for v in self.residuals]
            out["twap_7d"] = [float(v) for v in self.twap_7d]
        return out


def simulation_inputs(
    values: np.ndarray,
    timestamps,
    fit: SeasonalFit,
    twap_7d: np.ndarray,
    params,
    n_periods: int,
    twap_window: int,
    *,
    bucket_seconds: int | None = None,
) -> SimulationInputs:
    """Steps 7-10's inputs; one simulation step per bucket (see the module docstring)."""
    n = len(values)
    b = infer_bucket_seconds(timestamps, n) if bucket_seconds is None else int(bucket_seconds)
    if b <= 0:
        raise InvalidParameters(f"bucket_seconds must be > 0, got {b}")
    step_hours = b / HOUR_SECONDS  # exactly 1.0 for hourly buckets
    if timestamps is None:
        offset = float(n - 1) * step_hours
    else:
        ts = np.asarray(timestamps, dtype=np.int64)
        # hours from the first bucket to the last: floor(span / 3600) for aligned hourly buckets, and
        # exact when a range starts off the grid (its first bucket is labelled by the range start)
        offset = (int(ts[-1]) - int(ts[0])) / HOUR_SECONDS
    return SimulationInputs(
        params=np.asarray(params, dtype=np.float64),
        z0=float(fit.residuals[-1]),
        season_params=fit.season_params,
        season_offset_hours=offset,
        final_trend=fit.slope * (n - 1) + fit.intercept,
        sigma_t=trend_volatility(twap_7d, step_hours),
        strike=float(twap_7d[-1]),
        n_periods=n_periods,
        twap_window=twap_window,
        step_hours=step_hours,
    )


def reserve_price(
    values,
    timestamps=None,
    *,
    seed: int | None = None,
    num_paths: int = DEFAULT_NUM_PATHS,
    n_periods: int | None = None,
    commitment: list[int] | None = None,
    antithetic: bool = True,
    bucket_seconds: int | None = None,
    model: str | None = None,
) -> ReservePriceResult:
    """The full reserve-price pipeline; see the module docstring.

    ``seed=None`` derives the seed from ``commitment`` (computed from the values
    as fixed-point felts when not given), ``num_paths``, ``n_periods`` and the
    TWAP window. ``n_periods=None`` is the reference's 720, scaled down for
    series shorter than 2160 points. ``bucket_seconds=None`` infers the bucket
    length from the timestamps (3600 without them).

    ``model=None`` chooses (``model_choice``): the jump model where the data
    identifies it and its fit and price are usable, else the log-normal model,
    with ``model_reason`` saying why. ``model="mrj"`` or ``"lognormal"`` forces
    one (the backtest compares them; the jump model's checks are then skipped).
    """
    from .twap import twap as _twap

    x = as_series(values)
    n = len(x)
    if n < MIN_POINTS:
        raise InsufficientData("reserve_price", MIN_POINTS, n)
    num_paths = int(num_paths)
    if num_paths < 2:
        raise InvalidParameters(f"num_paths must be >= 2, got {num_paths}")
    b = infer_bucket_seconds(timestamps, n) if bucket_seconds is None else int(bucket_seconds)
    window = scaled_window(REFERENCE_TWAP_WINDOW, n, b)
    horizon = scaled_window(REFERENCE_N_PERIODS, n, b) if n_periods is None else int(n_periods)
    if horizon < 1:
        raise InvalidParameters(f"n_periods must be >= 1, got {horizon}")
    if commitment is None:
        commitment = commitment_for_values(x)
    if seed is None:
        seed = default_seed(commitment, num_paths, horizon, window)
    seed = int(seed)
    if not 0 <= seed < 1 << 64:
        raise InvalidParameters("seed must be in [0, 2**64)")

    if model is not None and model not in MODELS:
        raise InvalidParameters(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    twap_7d = trailing_mean(x, window)
    fit = remove_trend_and_seasonality(x, timestamps, bucket_seconds=b)
    common: dict[str, Any] = dict(
        seed=seed,
        num_paths=num_paths,
        n_periods=horizon,
        twap_window=window,
        strike=float(twap_7d[-1]),
        twap=_twap(x),
        slope=fit.slope,
        intercept=fit.intercept,
        season_params=fit.season_params,
        residuals=fit.residuals,
        twap_7d=twap_7d,
        commitment=list(commitment),
        bucket_seconds=b,
        season_terms=fit.season_terms,
    )
    reason = mrj_unidentifiable(n, b) if model is None else None
    mrj = None
    if model == MRJ or (model is None and reason is None):
        mrj = fit_mrj(fit.residuals[1:], fit.residuals[:-1])
        reason = mrj_fit_problem(mrj.params, mrj.gradient, mrj.gradient_ok, fit.residuals) if model is None else None
        if reason is None:
            inputs = simulation_inputs(x, timestamps, fit, twap_7d, mrj.params, horizon, window, bucket_seconds=b)
            sim = simulate_payoff(inputs, num_paths, np.random.Generator(np.random.PCG64(seed)), antithetic=antithetic)
            reason = mrj_price_problem(sim.price, inputs.strike) if model is None else None
            if reason is None:
                return ReservePriceResult(
                    price=sim.price,
                    standard_error=sim.standard_error,
                    params=mrj.params,
                    gradient=mrj.gradient,
                    gradient_ok=mrj.gradient_ok,
                    nll=mrj.nll,
                    trend_volatility=inputs.sigma_t,
                    season_offset_hours=inputs.season_offset_hours,
                    antithetic=sim.antithetic,
                    optimizer=mrj.method,
                    free_params=mrj.free,
                    model=MRJ,
                    **common,
                )
    ln, dispersion = lognormal_inputs(x, twap_7d[-1], horizon, window, b)
    sim = simulate_lognormal(ln, num_paths, np.random.Generator(np.random.PCG64(seed)), antithetic=antithetic)
    return ReservePriceResult(
        price=sim.price,
        standard_error=sim.standard_error,
        params=mrj.params if mrj is not None else np.zeros(6),
        gradient=mrj.gradient if mrj is not None else np.zeros(6),
        gradient_ok=bool(mrj.gradient_ok) if mrj is not None else False,
        nll=mrj.nll if mrj is not None else 0.0,
        trend_volatility=0.0,
        season_offset_hours=0.0,
        antithetic=sim.antithetic,
        optimizer=mrj.method if mrj is not None else "",
        free_params=mrj.free if mrj is not None else np.ones(6, dtype=bool),
        model=LOGNORMAL,
        model_reason=reason or "requested",
        mrj_fitted=mrj is not None,
        sigma_step=ln.sigma_step,
        volatility_lag=dispersion.lag,
        start_level=ln.start_level,
        horizon_variance=dispersion.variance,
        volatility_floored=dispersion.floored,
        **common,
    )
