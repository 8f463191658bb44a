"""The log-normal model: the horizon-dispersion estimator, its floor, and the simulation against the closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from handler.pricing import InsufficientData
from handler.pricing.lognormal import (
    VOLATILITY_FLOOR,
    LognormalInputs,
    horizon_dispersion,
    lognormal_inputs,
    simulate_lognormal,
    window_walk_factor,
)
from handler.pricing.simulate import CAP, DISCOUNT


def capped_call(s0: float, v: float, strike: float) -> float:
    """E[min((S - K)+, 0.3 K)] for ln S ~ N(ln s0, v), discounted."""

    def call(k):
        d1 = (math.log(s0 / k) + v) / math.sqrt(v)
        return s0 * math.exp(v / 2) * norm.cdf(d1) - k * norm.cdf(d1 - math.sqrt(v))

    return DISCOUNT * (call(strike) - call((1 + CAP) * strike))


@pytest.mark.parametrize("s0, strike, sigma, n", [(1.0, 1.0, 0.02, 50), (1.1, 1.0, 0.01, 200), (0.9, 1.0, 0.05, 10)])
def test_single_row_window_matches_the_closed_form(s0, strike, sigma, n):
    inputs = LognormalInputs(start_level=s0, sigma_step=sigma, strike=strike, n_periods=n, twap_window=1)
    sim = simulate_lognormal(inputs, 200_000, np.random.default_rng(11))
    expected = capped_call(s0, sigma**2 * n, strike)
    assert abs(sim.price - expected) < 4 * sim.standard_error, (sim.price, expected, sim.standard_error)


def test_zero_volatility_is_the_intrinsic_value():
    inputs = LognormalInputs(start_level=1.1, sigma_step=0.0, strike=1.0, n_periods=30, twap_window=7)
    sim = simulate_lognormal(inputs, 100, np.random.default_rng(0))
    assert sim.price == pytest.approx(DISCOUNT * 0.1, rel=1e-12) and sim.standard_error < 1e-15


def test_dispersion_is_the_mean_square_change_of_the_window_average_over_the_horizon():
    x = np.exp(np.array([0.0, 0.1, -0.1, 0.2, 0.0, 0.3]))
    d = horizon_dispersion(x, twap_window=1, n_periods=2, bucket_seconds=3600)
    assert d.lag == 2 and not d.floored
    assert d.variance == pytest.approx(np.mean([0.1**2, 0.1**2, 0.1**2, 0.1**2]), rel=1e-12)
    w2 = horizon_dispersion(x, twap_window=2, n_periods=2, bucket_seconds=3600)
    a = np.log((x[1:] + x[:-1]) / 2)
    assert w2.variance == pytest.approx(np.mean((a[2:] - a[:-2]) ** 2), rel=1e-12)


def test_a_range_shorter_than_its_horizon_is_measured_at_the_longest_lag_and_scaled():
    x = np.exp(np.array([0.0, 0.1, -0.1, 0.2]))
    d = horizon_dispersion(x, twap_window=1, n_periods=10, bucket_seconds=60)
    assert d.lag == 3 and d.variance == pytest.approx(0.2**2 * 10 / 3, rel=1e-12)
    with pytest.raises(InsufficientData):
        horizon_dispersion(x[:2], twap_window=2, n_periods=5, bucket_seconds=60)


@pytest.mark.parametrize("h, bucket, hours", [(12, 60, 0.2), (60, 12, 0.2), (720, 3600, 1.0), (240, 60, 1.0)])
def test_a_still_range_is_priced_on_the_floor_not_at_zero(h, bucket, hours):
    x = np.full(3 * h, 3e10)
    d = horizon_dispersion(x, twap_window=max(1, h // 5), n_periods=h, bucket_seconds=bucket)
    assert d.floored and d.variance == pytest.approx(VOLATILITY_FLOOR**2 * hours, rel=1e-12)
    inputs, _ = lognormal_inputs(x, 3e10, h, max(1, h // 5), bucket)
    assert simulate_lognormal(inputs, 2000, np.random.default_rng(1)).price > 0


def test_random_walk_dispersion_matches_its_expectation():
    sigma, w, h = 0.01, 10, 50
    x = np.exp(np.cumsum(sigma * np.random.default_rng(5).standard_normal(400_000)))
    d = horizon_dispersion(x, twap_window=w, n_periods=h, bucket_seconds=12)
    # increments between the two windows count fully, the ones inside either window ramp
    expected = sigma**2 * ((h - w + 1) + (w - 1) * (2 * w - 1) / (3 * w))
    assert d.variance == pytest.approx(expected, rel=0.05)


def test_the_simulated_window_average_has_the_measured_dispersion():
    x = np.exp(np.cumsum(0.01 * np.random.default_rng(8).standard_normal(3000)))
    inputs, d = lognormal_inputs(x, float(x[-50:].mean()), 1000, 50, 60)
    assert inputs.start_level == inputs.strike
    assert inputs.sigma_step**2 * window_walk_factor(1000, 50) == pytest.approx(d.variance, rel=1e-12)
    rng = np.random.default_rng(3)
    walks = np.cumsum(inputs.sigma_step * rng.standard_normal((4000, 1000)), axis=1)
    assert np.var(walks[:, -50:].mean(axis=1)) == pytest.approx(d.variance, rel=0.08)
