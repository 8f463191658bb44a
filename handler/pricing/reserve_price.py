"""Reserve price: the host "original" pipeline of pricing-spec §2.5.

1. 7-day TWAP series (partial windows at the start); strike = its last value.
2. OLS of ln x on the index: slope, intercept, detrended residual.
3. 12 seasonal terms by least squares on hours since the first sample.
4. pt = e[1:], pt_1 = e[:-1].
5-6. Mean-reverting jump model fitted by maximum likelihood (``mrj.fit_mrj``).
7-10. Monte Carlo with the stochastic trend, capped payoff, discount (``simulate``).

Series shorter than the reference's 2160 points scale the 168-point TWAP window
and the 720-step horizon in proportion; the constants that are units rather than
window lengths (sqrt(168) in the trend volatility, 1/24 per step, the 24 h and
168 h seasonal periods) stay as in the reference.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field

import numpy as np

from .commitment import data_commitment
from .errors import InsufficientData, InvalidParameters, InvalidSeries
from .felts import float_to_felt
from .mrj import GRADIENT_TOLERANCE, PARAM_NAMES, fit_mrj
from .simulate import SimulationInputs, seasonal_basis, simulate_payoff
from .twap import as_series, trailing_mean

REFERENCE_POINTS = 2160
REFERENCE_TWAP_WINDOW = 168
REFERENCE_N_PERIODS = 720
MIN_POINTS = 48
DEFAULT_NUM_PATHS = 15000
TREND_VOL_SCALE = math.sqrt(168.0)
SEED_TAG = b"fossil-pricing/reserve-price/v1"


def scaled_window(reference_window: int, n: int) -> int:
    """``max(1, floor(ref * n / 2160))``, capped at the reference value."""
    return min(reference_window, max(1, (reference_window * n) // REFERENCE_POINTS))


@dataclass(frozen=True)
class SeasonalFit:
    slope: float
    intercept: float
    season_params: np.ndarray
    residuals: np.ndarray  # de-seasonalised detrended log base fee, length n


def hours_since_start(timestamps, n: int) -> np.ndarray:
    if timestamps is None:
        return np.arange(n, dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.int64)
    if ts.shape != (n,):
        raise InvalidSeries(f"{len(ts)} timestamps for {n} values")
    if n > 1 and np.any(np.diff(ts) <= 0):
        raise InvalidSeries("timestamps must be strictly increasing")
    return (ts - ts[0]).astype(np.float64) / 3600.0


def remove_trend_and_seasonality(values, timestamps=None) -> SeasonalFit:
    """Steps 2-3: OLS trend on the index, then the 12 seasonal terms on hours since the first sample."""
    x = as_series(values)
    n = len(x)
    y = np.log(x)
    index = np.arange(n, dtype=np.float64)
    design = np.column_stack([index, np.ones(n)])
    (slope, intercept), *_ = np.linalg.lstsq(design, y, rcond=None)
    detrended = y - (slope * index + intercept)
    basis = seasonal_basis(hours_since_start(timestamps, n))
    season, *_ = np.linalg.lstsq(basis, detrended, rcond=None)
    residuals = detrended - basis @ season
    return SeasonalFit(float(slope), float(intercept), season, residuals)


def trend_volatility(twap_7d: np.ndarray) -> float:
    """``sd1(diff(ln TWAP7)) * sqrt(168)``."""
    rho = np.diff(np.log(twap_7d))
    rho = rho[np.isfinite(rho)]
    if len(rho) < 2:
        raise InsufficientData("reserve_price trend volatility", 3, len(rho) + 1)
    return float(np.std(rho, ddof=1) * TREND_VOL_SCALE)


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
        }
        if include_series:
            out["residuals"] = [float(v) for v in self.residuals]
            out["twap_7d"] = [float(v) for v in self.twap_7d]
        return out


def simulation_inputs(values: np.ndarray, timestamps, fit: SeasonalFit, twap_7d: np.ndarray, params,
                      n_periods: int, twap_window: int) -> SimulationInputs:
    n = len(values)
    if timestamps is None:
        offset = float(n - 1)
    else:
        ts = np.asarray(timestamps, dtype=np.int64)
        offset = float((int(ts[-1]) - int(ts[0])) // 3600)
    return SimulationInputs(
        params=np.asarray(params, dtype=np.float64),
        z0=float(fit.residuals[-1]),
        season_params=fit.season_params,
        season_offset_hours=offset,
        final_trend=fit.slope * (n - 1) + fit.intercept,
        sigma_t=trend_volatility(twap_7d),
        strike=float(twap_7d[-1]),
        n_periods=n_periods,
        twap_window=twap_window,
    )


def reserve_price(values, timestamps=None, *, seed: int | None = None, num_paths: int = DEFAULT_NUM_PATHS,
                  n_periods: int | None = None, commitment: list[int] | None = None,
                  antithetic: bool = True) -> ReservePriceResult:
    """The full reserve-price pipeline; see the module docstring.

    ``seed=None`` derives the seed from ``commitment`` (computed from the values
    as fixed-point felts when not given), ``num_paths``, ``n_periods`` and the
    TWAP window. ``n_periods=None`` is the reference's 720, scaled down for
    series shorter than 2160 points.
    """
    from .twap import twap as _twap

    x = as_series(values)
    n = len(x)
    if n < MIN_POINTS:
        raise InsufficientData("reserve_price", MIN_POINTS, n)
    num_paths = int(num_paths)
    if num_paths < 2:
        raise InvalidParameters(f"num_paths must be >= 2, got {num_paths}")
    window = scaled_window(REFERENCE_TWAP_WINDOW, n)
    horizon = scaled_window(REFERENCE_N_PERIODS, n) if n_periods is None else int(n_periods)
    if horizon < 1:
        raise InvalidParameters(f"n_periods must be >= 1, got {horizon}")
    if commitment is None:
        commitment = commitment_for_values(x)
    if seed is None:
        seed = default_seed(commitment, num_paths, horizon, window)
    seed = int(seed)
    if not 0 <= seed < 1 << 64:
        raise InvalidParameters("seed must be in [0, 2**64)")

    twap_7d = trailing_mean(x, window)
    fit = remove_trend_and_seasonality(x, timestamps)
    mrj = fit_mrj(fit.residuals[1:], fit.residuals[:-1])
    inputs = simulation_inputs(x, timestamps, fit, twap_7d, mrj.params, horizon, window)
    rng = np.random.Generator(np.random.PCG64(seed))
    sim = simulate_payoff(inputs, num_paths, rng, antithetic=antithetic)
    return ReservePriceResult(
        price=sim.price, standard_error=sim.standard_error, seed=seed, num_paths=num_paths,
        n_periods=horizon, twap_window=window, strike=inputs.strike, twap=_twap(x),
        slope=fit.slope, intercept=fit.intercept, season_params=fit.season_params,
        params=mrj.params, gradient=mrj.gradient, gradient_ok=mrj.gradient_ok, nll=mrj.nll,
        trend_volatility=inputs.sigma_t, season_offset_hours=inputs.season_offset_hours,
        residuals=fit.residuals, twap_7d=twap_7d, commitment=list(commitment), antithetic=sim.antithetic,
        optimizer=mrj.method,
    )
