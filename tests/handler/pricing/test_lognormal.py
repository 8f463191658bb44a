"""The log-normal model: volatility estimator and simulation against the closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from handler.pricing import InsufficientData
from handler.pricing.lognormal import LognormalInputs, simulate_lognormal, step_volatility
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


def test_step_volatility_is_the_lagged_mean_square():
    x = np.exp(np.array([0.0, 0.1, -0.1, 0.2, 0.0]))
    assert step_volatility(x, 2) == pytest.approx(math.sqrt(np.mean([(-0.1) ** 2, 0.1**2, 0.1**2]) / 2), rel=1e-12)
    assert step_volatility(x, 1) == pytest.approx(math.sqrt(np.mean([0.01, 0.04, 0.09, 0.04])), rel=1e-12)
    with pytest.raises(InsufficientData):
        step_volatility(x, 4)
