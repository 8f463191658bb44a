"""The window-only simulation must have the reference's distribution.

Compares per-path window averages of ``window_averages`` (exact state at the
window start, see simulate.py) with the plain full-path transcription, using
two-sample Kolmogorov-Smirnov tests at fixed seeds. A perturbed model is
included to show the test has the power to reject.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import ks_2samp

from handler.pricing.reserve_price import remove_trend_and_seasonality, simulation_inputs
from handler.pricing.simulate import (
    HOURS_PER_STEP,
    TREND_DRIFT,
    _truncation_steps,
    simulate_payoff,
    simulate_payoff_full,
    window_averages,
    window_start_state,
)
from handler.pricing.twap import trailing_mean

PATHS = 6000


@pytest.fixture(scope="module")
def base_inputs(dataset_a, dataset_a_result):
    x, ts = dataset_a.values, dataset_a.timestamps
    fit = remove_trend_and_seasonality(x, ts)
    return simulation_inputs(x, ts, fit, trailing_mean(x, 168), dataset_a_result.params, 720, 168)


def _compare(inputs, seed):
    _, full = simulate_payoff_full(inputs, PATHS, np.random.default_rng(seed), return_paths=True)
    fast, _ = window_averages(inputs, PATHS, np.random.default_rng(seed + 1), antithetic=False)
    return ks_2samp(np.log(full), np.log(fast)).pvalue


@pytest.mark.parametrize("case", ["dataset_a", "dataset_a_with_trend", "persistent", "all_jumps", "short_horizon"])
def test_window_shortcut_matches_full_simulation(base_inputs, case):
    # Without the trend noise the averages are driven by the residual process
    # alone, which is where the shortcut could go wrong.
    inputs = base_inputs if case == "dataset_a_with_trend" else replace(base_inputs, sigma_t=0.0)
    if case == "persistent":  # no truncation possible, slow mean reversion
        inputs = replace(inputs, params=np.array([0.001, 0.995, 0.05, 0.004, 0.02, 0.3]))
    elif case == "all_jumps":
        inputs = replace(inputs, params=np.array([-0.01, 0.7, 0.08, 0.002, 0.05, 1.0]))
    elif case == "short_horizon":  # horizon shorter than the averaging window
        inputs = replace(inputs, n_periods=100)
    if case == "dataset_a":
        assert _truncation_steps(float(inputs.params[1]), 552) < 552  # the truncation is exercised
    assert _compare(inputs, 11) > 1e-3


def _stepped_state(inputs, s0, paths, rng):
    a, phi, mu_j, s2, sj2, lam = inputs.params
    z = np.full(paths, inputs.z0)
    drift = (TREND_DRIFT - 0.5 * inputs.sigma_t**2) * HOURS_PER_STEP
    trend = drift + inputs.sigma_t * np.sqrt(HOURS_PER_STEP) * rng.standard_normal(paths)
    for _ in range(s0):
        jump = rng.random(paths) < lam
        z = (
            a
            + phi * z
            + np.sqrt(s2) * rng.standard_normal(paths)
            + jump * (mu_j + np.sqrt(sj2) * rng.standard_normal(paths))
        )
        trend = trend + drift + inputs.sigma_t * np.sqrt(HOURS_PER_STEP) * rng.standard_normal(paths)
    return z, trend


@pytest.mark.parametrize(
    "params", [None, [0.001, 0.995, 0.05, 0.004, 0.02, 0.3], [-0.01, -0.6, 0.08, 0.002, 0.05, 0.9]]
)
def test_state_at_window_start_matches_stepping(base_inputs, params):
    inputs = base_inputs if params is None else replace(base_inputs, params=np.array(params))
    z_ref, w_ref = _stepped_state(inputs, 552, 8000, np.random.default_rng(21))
    z, w = window_start_state(inputs, 552, 8000, np.random.default_rng(22))
    assert ks_2samp(z_ref, z).pvalue > 1e-3
    assert ks_2samp(w_ref, w).pvalue > 1e-3


def test_comparisons_detect_a_wrong_model(base_inputs):
    z_ref, _ = _stepped_state(base_inputs, 552, 8000, np.random.default_rng(21))
    wrong = replace(base_inputs, params=base_inputs.params * np.array([1, 1, 1, 1, 1.5, 1]))
    z, _ = window_start_state(wrong, 552, 8000, np.random.default_rng(22))
    assert ks_2samp(z_ref, z).pvalue < 1e-3

    right = replace(base_inputs, sigma_t=0.0)
    _, full = simulate_payoff_full(right, PATHS, np.random.default_rng(11), return_paths=True)
    wrong = replace(right, params=base_inputs.params * np.array([1, 1, 1, 1, 1, 1.1]))
    fast, _ = window_averages(wrong, PATHS, np.random.default_rng(12), antithetic=False)
    assert ks_2samp(np.log(full), np.log(fast)).pvalue < 1e-3


def test_antithetic_and_plain_estimators_agree(base_inputs):
    pairs = simulate_payoff(base_inputs, 20000, np.random.default_rng(5), antithetic=True)
    plain = simulate_payoff(base_inputs, 20000, np.random.default_rng(6), antithetic=False)
    assert pairs.antithetic and not plain.antithetic
    gap = abs(pairs.price - plain.price)
    assert gap < 4 * np.hypot(pairs.standard_error, plain.standard_error)
