"""Monte-Carlo simulation of the reserve-price payoff (docs/pricing.md).

Model, per path j and step i = 0..N-1 (N = ``n_periods``). One step is one
bucket of the input series: ``step_hours = bucket_seconds / 3600`` (1 for the
reference's hourly series, 1/60 for Fossil's minute buckets).

* residual ``Z_0 = z0``, ``Z_i = a + phi Z_{i-1} + sqrt(sigma_sq) N1 + J (mu_j + sqrt(sigma_sq_j) N2)``
  with ``J ~ Bernoulli(lambda)`` (the AR(1)-with-jumps model is fitted on
  consecutive buckets, so it is already per step);
* trend ``W_i = sum_{k=0..i} (c + eps_k)``, ``c = (mu - sigma_t^2/2) delta``,
  ``eps ~ N(0, sigma_t^2 delta)`` (the sum includes k = 0), with the step length
  ``delta = step_hours / 24`` (the reference's 1/24 for hourly steps);
* log price ``L_i = Z_i + S(H + i * step_hours) + F + W_i`` (seasonal time in
  hours advances by one bucket per step); the payoff averages ``exp(L_i)`` over
  the last ``twap_window`` rows only.

How the minute case maps: ``sigma_t`` is the per-step sd of the log TWAP
changes times ``sqrt(168 / step_hours)`` (steps per week; ``sqrt(168)`` for
hourly), and ``delta`` is the step in days, so the per-step trend variance
``sigma_t^2 delta = 7 sd_step^2`` and the drift ``mu delta`` per unit of calendar
time are the reference's for any bucket size. For ``step_hours = 1`` every
expression evaluates, bit for bit, to the reference's (1.0/24, sqrt(168.0), H + i).

Overflow: ``exp`` only ever sees log prices clipped at
``ln(e * (1 + cap) * K * twap_window)``. A single row above that level already
puts the path's window average above the cap ``(1 + cap) K``, so the clip never
changes a payoff (it only keeps ``exp`` finite); the price therefore always lies
in ``[0, cap * K * e^-0.05]``.

Shortcut (``simulate_payoff``): since only the averaging rows ``s0..N-1``
(``s0 = max(0, N - twap_window)``) reach the payoff, the state at ``s0`` is
drawn directly from its exact distribution and only the window is stepped:

* ``W_{s0}`` is a sum of ``s0 + 1`` i.i.d. Gaussians: one draw
  ``N((s0+1) c, (s0+1) sigma_t^2 delta)``;
* ``Z_{s0} = phi^s0 z0 + a sum_{k<s0} phi^k + G + Jsum`` where the Gaussian
  part G is one draw ``N(0, sigma_sq sum_{k<s0} phi^{2k})``, and the jump part
  ``Jsum = sum_k phi^k J_k (mu_j + sigma_j N2_k)`` is, given the Bernoulli
  pattern, Gaussian with mean ``mu_j sum_k phi^k J_k`` and variance
  ``sigma_sq_j sum_k phi^{2k} J_k``: one Bernoulli draw per step and path, one
  Gaussian per path. Bernoulli steps older than ``k_max`` (where
  ``|phi|^k <= 2^-60``, below float64 resolution relative to the residual) are
  dropped; when ``|phi|`` is close to 1 no step is dropped.

So the joint law of ``(Z_i, W_i)`` on the averaging rows is that of the full
simulation (``simulate_payoff_full``, a transcription of the reference kept for
the statistical test), at a fraction of the draws.

Variance reduction: antithetic pairs (every normal negated, every uniform
``u -> 1 - u``) when the path count is even. Each path is still an exact draw,
so the estimator is unbiased; the standard error is computed over the pair
means, which are i.i.d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidParameters
from .mrj import check_simulation_params

CAP = 0.3
RISK_FREE_RATE = 0.05
DISCOUNT = math.exp(-RISK_FREE_RATE)  # one year at 5 %, as the reference does
TREND_DRIFT = 0.05 / 52
HOURS_PER_STEP = 1.0 / 24.0
TRUNCATION = 2.0**-60


@dataclass(frozen=True)
class SimulationInputs:
    params: np.ndarray  # (a, phi, mu_j, sigma_sq, sigma_sq_j, lambda)
    z0: float  # last de-seasonalised residual
    season_params: np.ndarray  # 12 coefficients
    season_offset_hours: float  # H
    final_trend: float  # F = b (n - 1) + a
    sigma_t: float  # trend volatility
    strike: float
    n_periods: int
    twap_window: int
    step_hours: float = 1.0  # bucket length in hours: 1 for hourly series, 1/60 for minute buckets

    @property
    def delta(self) -> float:
        """Trend step in days: the reference's 1/24 for hourly steps."""
        return float(self.step_hours) * HOURS_PER_STEP

    @property
    def log_price_ceiling(self) -> float:
        """Log prices above this make the window average exceed the cap whatever the other rows are."""
        return math.log((1.0 + CAP) * self.strike * max(1, int(self.twap_window))) + 1.0


@dataclass(frozen=True)
class SimulationResult:
    price: float
    standard_error: float
    num_paths: int
    antithetic: bool


#: period in hours of each sin/cos pair of ``seasonal_basis``, in column order
SEASONAL_PERIODS = (24.0, 12.0, 6.0, 168.0, 84.0, 42.0)


def seasonal_basis(t: np.ndarray) -> np.ndarray:
    """The 12 columns in the reference's order: daily harmonics 1, 2, 4 then weekly 1, 2, 4, sin before cos."""
    t = np.asarray(t, dtype=np.float64)
    cols = []
    for period in (24.0, 168.0):
        for harmonic in (2.0, 4.0, 8.0):
            angle = harmonic * math.pi * t / period
            cols.append(np.sin(angle))
            cols.append(np.cos(angle))
    return np.column_stack(cols)


def _validate(inputs: SimulationInputs, num_paths: int) -> None:
    check_simulation_params(inputs.params)
    if num_paths < 2:
        raise InvalidParameters(f"num_paths must be >= 2, got {num_paths}")
    if inputs.n_periods < 1 or inputs.twap_window < 1:
        raise InvalidParameters("n_periods and twap_window must be >= 1")
    if not (math.isfinite(inputs.sigma_t) and inputs.sigma_t >= 0):
        raise InvalidParameters(f"trend volatility must be finite and >= 0, got {inputs.sigma_t!r}")
    if not (math.isfinite(inputs.strike) and inputs.strike > 0):
        raise InvalidParameters(f"strike must be finite and > 0, got {inputs.strike!r}")
    if not (math.isfinite(inputs.step_hours) and inputs.step_hours > 0):
        raise InvalidParameters(f"step_hours must be finite and > 0, got {inputs.step_hours!r}")
    if not (
        math.isfinite(inputs.final_trend)
        and math.isfinite(inputs.z0)
        and np.all(np.isfinite(np.asarray(inputs.season_params, dtype=np.float64)))
    ):
        raise InvalidParameters("residual, trend level and seasonal coefficients must be finite")


def _season_levels(inputs: SimulationInputs, rows: np.ndarray) -> np.ndarray:
    """``S(H + i * step_hours)``; for hourly steps ``rows * 1.0`` is exact, so this is ``S(H + i)``."""
    hours = inputs.season_offset_hours + rows * float(inputs.step_hours)
    return seasonal_basis(hours) @ np.asarray(inputs.season_params, dtype=np.float64)


def _exp_capped(log_price: np.ndarray, ceiling: float) -> np.ndarray:
    """``exp`` of log prices clipped at ``ceiling`` (payoff-neutral, see the module docstring)."""
    return np.exp(np.minimum(log_price, ceiling))


def _price(averages: np.ndarray, strike: float, pairs: bool) -> tuple[float, float]:
    payoff = np.maximum(np.minimum(averages, (1.0 + CAP) * strike) - strike, 0.0)
    if pairs:
        half = len(payoff) // 2
        samples = 0.5 * (payoff[:half] + payoff[half:])
    else:
        samples = payoff
    mean = float(np.mean(samples))
    se = float(np.std(samples, ddof=1) / math.sqrt(len(samples)))
    return DISCOUNT * mean, DISCOUNT * se


def _truncation_steps(phi: float, steps: int) -> int:
    aphi = abs(phi)
    if aphi == 0.0:
        return min(1, steps)
    if aphi >= 1.0:
        return steps
    return min(steps, int(math.ceil(math.log(TRUNCATION) / math.log(aphi))) + 1)


def _state_at(s0: int, inputs: SimulationInputs, half: int, normals, bernoulli) -> tuple[np.ndarray, np.ndarray]:
    """Exact draw of ``(Z_s0, W_s0)`` per path without stepping (see the module docstring)."""
    a, phi, mu_j, s2, sj2, lam = (float(v) for v in inputs.params)
    drift = (TREND_DRIFT - 0.5 * inputs.sigma_t**2) * inputs.delta
    step_sd = inputs.sigma_t * math.sqrt(inputs.delta)
    trend = (s0 + 1) * drift + math.sqrt(s0 + 1) * step_sd * normals(half)
    z = np.full(trend.shape, float(inputs.z0))
    if s0 > 0:
        powers = phi ** np.arange(s0, dtype=np.float64)
        z = phi**s0 * z + a * float(np.sum(powers)) + math.sqrt(s2 * float(np.sum(powers * powers))) * normals(half)
        k_max = _truncation_steps(phi, s0)
        if lam > 0.0 and k_max > 0:
            jumps = bernoulli((k_max, half)).astype(np.float64)
            w = powers[:k_max]  # row k holds the jump k steps before s0
            z += mu_j * (w @ jumps) + math.sqrt(sj2) * np.sqrt((w * w) @ jumps) * normals(half)
    return z, trend


def window_start_state(
    inputs: SimulationInputs, s0: int, num_paths: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(Z_s0, W_s0)`` for ``num_paths`` independent paths (exposed for the distribution tests)."""
    lam = float(inputs.params[5])
    return _state_at(s0, inputs, num_paths, rng.standard_normal, lambda size: rng.random(size) < lam)


def simulate_payoff(
    inputs: SimulationInputs, num_paths: int, rng: np.random.Generator, *, antithetic: bool = True
) -> SimulationResult:
    """Discounted mean capped payoff, stepping only the averaging window (see module docstring)."""
    averages, pairs = window_averages(inputs, num_paths, rng, antithetic=antithetic)
    price, se = _price(averages, inputs.strike, pairs)
    return SimulationResult(price=price, standard_error=se, num_paths=num_paths, antithetic=pairs)


def window_averages(
    inputs: SimulationInputs, num_paths: int, rng: np.random.Generator, *, antithetic: bool = True
) -> tuple[np.ndarray, bool]:
    """Per-path mean price over the averaging window, and whether paths come in antithetic pairs.

    With pairs, path ``j`` and path ``j + num_paths // 2`` are antithetic.
    """
    _validate(inputs, num_paths)
    a, phi, mu_j, s2, sj2, lam = (float(v) for v in inputs.params)
    sigma, sigma_j = math.sqrt(s2), math.sqrt(sj2)
    n_periods, window = int(inputs.n_periods), int(inputs.twap_window)
    pairs = antithetic and num_paths % 2 == 0
    half = num_paths // 2 if pairs else num_paths

    def normals(size) -> np.ndarray:
        g = rng.standard_normal(size)
        return np.concatenate([g, -g], axis=-1) if pairs else g

    def bernoulli(size) -> np.ndarray:
        u = rng.random(size)
        return np.concatenate([u < lam, (1.0 - u) < lam], axis=-1) if pairs else u < lam

    s0 = max(0, n_periods - window)
    drift = (TREND_DRIFT - 0.5 * inputs.sigma_t**2) * inputs.delta
    step_sd = inputs.sigma_t * math.sqrt(inputs.delta)
    z, trend = _state_at(s0, inputs, half, normals, bernoulli)

    offset = float(inputs.final_trend)
    season = _season_levels(inputs, np.arange(s0, n_periods, dtype=np.float64))
    ceiling = inputs.log_price_ceiling
    total = _exp_capped(z + trend + (season[0] + offset), ceiling)
    for row in range(1, n_periods - s0):
        z = a + phi * z + sigma * normals(half)
        if lam > 0.0:
            z += bernoulli(half) * (mu_j + sigma_j * normals(half))
        trend += drift + step_sd * normals(half)
        total += _exp_capped(z + trend + (season[row] + offset), ceiling)
    return total / (n_periods - s0), pairs


def simulate_payoff_full(
    inputs: SimulationInputs, num_paths: int, rng: np.random.Generator, *, return_paths: bool = False
):
    """Plain transcription of the reference: every step of every path, no variance reduction.

    Slow (N x paths draws); kept as the yardstick the shortcut is tested against.
    With ``return_paths`` also returns the per-path averages.
    """
    _validate(inputs, num_paths)
    a, phi, mu_j, s2, sj2, lam = (float(v) for v in inputs.params)
    sigma, sigma_j = math.sqrt(s2), math.sqrt(sj2)
    n_periods, window = int(inputs.n_periods), int(inputs.twap_window)
    s0 = max(0, n_periods - window)
    drift = (TREND_DRIFT - 0.5 * inputs.sigma_t**2) * inputs.delta
    step_sd = inputs.sigma_t * math.sqrt(inputs.delta)
    season = _season_levels(inputs, np.arange(n_periods, dtype=np.float64))
    z = np.full(num_paths, float(inputs.z0))
    trend = drift + step_sd * rng.standard_normal(num_paths)
    total = np.zeros(num_paths)
    for i in range(n_periods):
        if i > 0:
            jump = rng.random(num_paths) < lam
            z = (
                a
                + phi * z
                + sigma * rng.standard_normal(num_paths)
                + jump * (mu_j + sigma_j * rng.standard_normal(num_paths))
            )
            trend = trend + drift + step_sd * rng.standard_normal(num_paths)
        if i >= s0:
            total += _exp_capped(z + season[i] + inputs.final_trend + trend, inputs.log_price_ceiling)
    averages = total / (n_periods - s0)
    price, se = _price(averages, inputs.strike, False)
    result = SimulationResult(price=price, standard_error=se, num_paths=num_paths, antithetic=False)
    return (result, averages) if return_paths else result
