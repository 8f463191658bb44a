"""The short-range model: a zero-drift log-normal walk from the strike, sized by the range's own dispersion.

Used where the reference jump model cannot be identified (minute or block buckets,
hourly ranges under 7 days) or where its fit is unusable (explosive, degenerate,
failed gradient check); ``docs/pricing.md`` gives the backtest that chose it.

What the payoff sees. The option pays on the average ``A`` of the last ``w``
buckets (``twap_window``) of the next round, against the strike ``K``, the average
of the last ``w`` buckets of the range; the two averages end ``h`` buckets apart
(``n_periods``). So the quantity to model is ``ln A_{t+h} - ln A_t``.

Dispersion, measured. ``V = mean((ln A[t+h] - ln A[t])^2)`` over every pair of
complete ``w``-bucket trailing averages of the range ``h`` buckets apart (at the
largest lag the range allows, scaled by ``h / lag``, when it holds fewer than ``h + 1``
averages). Measuring the payoff's own statistic at the payoff's own horizon keeps
the estimate honest whatever the series looks like at finer scales: block noise
that mean-reverts within minutes averages out as it does in the payoff, and a
series that moves smoothly (or trends) shows its full move over ``h`` rather than
a square-root-of-time extrapolation of its tiny one-bucket steps. The mean square
(not the variance) keeps a range's drift as spread, in both directions.

Floor. A range that does not move at all (a series that repeats an hourly value,
say) would price exactly 0. The Ethereum base fee is never still: EIP-1559 moves
it every block the gas used is off target. ``V`` is therefore at least
``VOLATILITY_FLOOR^2`` (a 3 % spread), scaled down by the square root of time for
horizons under an hour: about the quietest hourly volatility of the real hourly
series in ``tests/data`` (the 1st percentile over 12-hour stretches is 0.029 per
hour). Hourly moves mean-revert, so the floor does not grow past one hour; a range
that moves at all is far above it (monthly spreads there are 0.3 to 0.5).

Model, per path and step ``i = 0..h-1`` (one step per bucket):
``ln S_i = ln K + sigma (e_0 + ... + e_i)`` with i.i.d. standard normals ``e``, no
trend, no seasonal term, no drift: the median path stays at the strike. ``sigma``
is set so that the simulated average of the last ``w`` steps has log variance ``V``:
``sigma^2 = V / (h - w + 1 + (w - 1)(2w - 1) / (6w))``.

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
from .twap import trailing_mean

HOUR_SECONDS = 3600
# log volatility per sqrt(hour); see the module docstring
VOLATILITY_FLOOR = 0.03


@dataclass(frozen=True)
class LognormalInputs:
    start_level: float  # the walk's start: the strike, wei
    sigma_step: float  # sd of the log change per bucket
    strike: float
    n_periods: int
    twap_window: int

    @property
    def log_price_ceiling(self) -> float:
        """Log prices above this put the window average over the cap whatever the other rows are."""
        return math.log((1.0 + CAP) * self.strike * max(1, int(self.twap_window))) + 1.0


@dataclass(frozen=True)
class HorizonDispersion:
    variance: float  # V: mean square log change of the window average over the horizon (after the floor)
    lag: int  # the lag it was measured at, in buckets (the horizon unless the range is too short)
    floored: bool  # the range moved less than the floor allows and the floor priced it


def window_walk_factor(n_periods: int, twap_window: int) -> float:
    """Log variance of the walk's last-``w``-step average, per unit of per-step variance."""
    rows = min(int(twap_window), int(n_periods))
    first = int(n_periods) - rows
    return (first + 1) + (rows - 1) * (2 * rows - 1) / (6 * rows)


def horizon_dispersion(values, twap_window: int, n_periods: int, bucket_seconds: int) -> HorizonDispersion:
    """``V`` of the module docstring: the window average's mean square log change over ``n_periods`` buckets."""
    x = np.asarray(values, dtype=np.float64)
    w, h = int(twap_window), int(n_periods)
    if w < 1 or h < 1:
        raise InvalidParameters("n_periods and twap_window must be >= 1")
    if int(bucket_seconds) <= 0:
        raise InvalidParameters(f"bucket_seconds must be > 0, got {bucket_seconds}")
    if len(x) < w + 1:
        raise InsufficientData("reserve_price dispersion", w + 1, len(x))
    averages = np.log(trailing_mean(x, w)[w - 1 :])
    lag = min(h, len(averages) - 1)
    changes = averages[lag:] - averages[:-lag]
    measured = float(np.mean(changes * changes)) * h / lag
    floor = VOLATILITY_FLOOR**2 * min(1.0, h * int(bucket_seconds) / HOUR_SECONDS)
    return HorizonDispersion(variance=max(measured, floor), lag=lag, floored=measured < floor)


def lognormal_inputs(
    values, strike: float, n_periods: int, twap_window: int, bucket_seconds: int
) -> tuple[LognormalInputs, HorizonDispersion]:
    dispersion = horizon_dispersion(values, twap_window, n_periods, bucket_seconds)
    sigma = math.sqrt(dispersion.variance / window_walk_factor(n_periods, twap_window))
    inputs = LognormalInputs(
        start_level=float(strike),
        sigma_step=sigma,
        strike=float(strike),
        n_periods=int(n_periods),
        twap_window=int(twap_window),
    )
    return inputs, dispersion


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
