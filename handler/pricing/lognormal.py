"""The short-range model: a zero-drift log-normal walk from the last observed level.

Used where the reference jump model cannot be identified (minute or block buckets,
hourly ranges under 7 days) or where its fit is unusable (explosive, degenerate,
failed gradient check); ``docs/pricing.md`` gives the backtest that chose it.

Model, per path and step i = 0..N-1 (one step per bucket, N = ``n_periods``):
``ln S_i = ln S_last + sigma (e_0 + ... + e_i)`` with i.i.d. standard normals ``e``.
No trend and no seasonal term are extrapolated, and the log price has no drift:
the median path stays at the last level, so a range that happened to fall or rise
does not push the price to zero or to the cap.

Volatility. ``sigma^2 = mean((ln x[t+L] - ln x[t])^2) / L`` over the range, with
the lag ``L`` equal to the payoff's averaging window (``twap_window``, at least 1):
bucket-to-bucket changes of base-fee averages carry block noise that mean-reverts
within minutes, so a one-bucket estimate scaled by the square root of time
overstates the horizon's spread; the window's own scale is the one the payoff sees.

Payoff, discount and antithetic pairs are the reference's (``simulate._price``):
the mean of ``S`` over the last ``twap_window`` steps, a call struck at the
strike, capped at 30 % of it, discounted by ``e^-0.05``. Only the averaging rows
are stepped; the state at their first row is one exact draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InsufficientData, InvalidParameters
from .simulate import CAP, SimulationResult, _price


@dataclass(frozen=True)
class LognormalInputs:
    start_level: float  # last observed bucket value, wei
    sigma_step: float  # sd of the log change per bucket
    strike: float
    n_periods: int
    twap_window: int

    @property
    def log_price_ceiling(self) -> float:
        """Log prices above this put the window average over the cap whatever the other rows are."""
        return math.log((1.0 + CAP) * self.strike * max(1, int(self.twap_window))) + 1.0


def volatility_lag(twap_window: int) -> int:
    return max(1, int(twap_window))


def step_volatility(values: np.ndarray, lag: int) -> float:
    """``sqrt(mean((ln x[t+lag] - ln x[t])^2) / lag)``: per-bucket sd measured at ``lag`` buckets."""
    x = np.asarray(values, dtype=np.float64)
    lag = int(lag)
    if lag < 1:
        raise InvalidParameters(f"volatility lag must be >= 1, got {lag}")
    if len(x) <= lag + 1:
        raise InsufficientData("reserve_price volatility", lag + 2, len(x))
    logs = np.log(x)
    changes = logs[lag:] - logs[:-lag]
    return math.sqrt(float(np.mean(changes * changes)) / lag)


def lognormal_inputs(values: np.ndarray, strike: float, n_periods: int, twap_window: int) -> LognormalInputs:
    x = np.asarray(values, dtype=np.float64)
    return LognormalInputs(
        start_level=float(x[-1]),
        sigma_step=step_volatility(x, volatility_lag(twap_window)),
        strike=float(strike),
        n_periods=int(n_periods),
        twap_window=int(twap_window),
    )


def _validate(inputs: LognormalInputs, num_paths: int) -> None:
    if num_paths < 2:
        raise InvalidParameters(f"num_paths must be >= 2, got {num_paths}")
    if inputs.n_periods < 1 or inputs.twap_window < 1:
        raise InvalidParameters("n_periods and twap_window must be >= 1")
    for name in ("start_level", "strike"):
        v = getattr(inputs, name)
        if not (math.isfinite(v) and v > 0):
            raise InvalidParameters(f"{name} must be finite and > 0, got {v!r}")
    if not (math.isfinite(inputs.sigma_step) and inputs.sigma_step >= 0):
        raise InvalidParameters(f"sigma_step must be finite and >= 0, got {inputs.sigma_step!r}")


def simulate_lognormal(
    inputs: LognormalInputs, num_paths: int, rng: np.random.Generator, *, antithetic: bool = True
) -> SimulationResult:
    """Discounted mean capped payoff of the log-normal walk (see the module docstring)."""
    _validate(inputs, num_paths)
    n_periods, window = int(inputs.n_periods), int(inputs.twap_window)
    pairs = antithetic and num_paths % 2 == 0
    half = num_paths // 2 if pairs else num_paths

    def normals() -> np.ndarray:
        g = rng.standard_normal(half)
        return np.concatenate([g, -g]) if pairs else g

    s0 = max(0, n_periods - window)
    sigma = float(inputs.sigma_step)
    ceiling = inputs.log_price_ceiling
    log_price = math.log(inputs.start_level) + sigma * math.sqrt(s0 + 1) * normals()
    total = np.exp(np.minimum(log_price, ceiling))
    for _ in range(1, n_periods - s0):
        log_price = log_price + sigma * normals()
        total += np.exp(np.minimum(log_price, ceiling))
    price, se = _price(total / (n_periods - s0), inputs.strike, pairs)
    return SimulationResult(price=price, standard_error=se, num_paths=num_paths, antithetic=pairs)
