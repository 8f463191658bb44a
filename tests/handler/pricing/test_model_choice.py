"""Which model prices a reserve price: every fallback is named, none is silent."""

from __future__ import annotations

import numpy as np
import pytest

from handler.pricing import reserve_price
from handler.pricing.model_choice import MAX_JUMP_VARIANCE_RATIO, mrj_fit_problem, mrj_price_problem, mrj_unidentifiable
from handler.pricing.mrj import MrjFit
from handler.pricing.simulate import CAP, DISCOUNT

GOOD = np.array([0.0, 0.8, 0.01, 1e-3, 2e-3, 0.1])
RESIDUALS = np.random.default_rng(0).normal(0, 0.05, 500)


def test_identifiable_only_on_hourly_buckets_over_seven_days():
    assert mrj_unidentifiable(168, 3600) is None
    assert "needs at least 168 (7 days)" in mrj_unidentifiable(167, 3600)
    assert "60s buckets" in mrj_unidentifiable(100_000, 60)
    assert "12s buckets" in mrj_unidentifiable(100_000, 12)


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({1: 1.0}, "explosive jump-model fit: phi = 1 >= 1"),
        ({1: 1.3}, "explosive"),
        ({1: -1.0}, "oscillating"),
        ({4: 5e5}, "degenerate jump variance"),
        ({0: np.nan}, "finite parameters"),
    ],
)
def test_unusable_fits_are_named(change, fragment):
    theta = GOOD.copy()
    for k, v in change.items():
        theta[k] = v
    assert fragment in mrj_fit_problem(theta, np.zeros(6), True, RESIDUALS)


def test_jump_variance_limit_is_relative_to_the_residuals():
    limit = MAX_JUMP_VARIANCE_RATIO * float(np.var(RESIDUALS))
    assert mrj_fit_problem(np.r_[GOOD[:4], 0.99 * limit, GOOD[5]], np.zeros(6), True, RESIDUALS) is None
    assert mrj_fit_problem(np.r_[GOOD[:4], 1.01 * limit, GOOD[5]], np.zeros(6), True, RESIDUALS) is not None


def test_failed_gradient_check_is_named():
    reason = mrj_fit_problem(GOOD, np.array([0, 0.2, 0, 0, 0, 0]), False, RESIDUALS)
    assert "failed the gradient check (max |gradient| 0.2" in reason
    assert mrj_fit_problem(GOOD, np.zeros(6), True, RESIDUALS) is None


def test_zero_and_cap_maximum_prices_are_named():
    assert "prices 0" in mrj_price_problem(0.0, 1e10)
    assert "every simulated path ends at the cap" in mrj_price_problem(CAP * 1e10 * DISCOUNT, 1e10)
    assert mrj_price_problem(0.05 * 1e10, 1e10) is None


@pytest.mark.parametrize(
    "phi, sigma_sq_j, ok, fragment",
    [
        (1.02, 1e-3, True, "explosive"),
        (0.9, 5e5, True, "degenerate jump variance"),
        (0.9, 1e-3, False, "gradient check"),
    ],
)
def test_engine_falls_back_and_says_why(monkeypatch, dataset_a, phi, sigma_sq_j, ok, fragment):
    import importlib

    module = importlib.import_module("handler.pricing.reserve_price")  # the package re-exports the function

    def bad_fit(pt, pt_1, *args, **kwargs):
        params = np.array([0.0, phi, 0.0, 1e-3, sigma_sq_j, 0.1])
        return MrjFit(
            params=params, nll=0.0, gradient=np.full(6, 0.0 if ok else 0.3), gradient_ok=ok, iterations=1, method="stub"
        )

    monkeypatch.setattr(module, "fit_mrj", bad_fit)
    r = module.reserve_price(dataset_a.values, dataset_a.timestamps, num_paths=2000)
    assert r.model == "lognormal" and fragment in r.model_reason and r.mrj_fitted
    assert r.params[1] == phi  # the rejected fit is reported, not hidden
    assert 0 < r.price < CAP * r.strike * DISCOUNT
    out = r.to_json()
    assert out["model"] == "lognormal" and fragment in out["model_reason"]
    assert set(out["lognormal"]) == {
        "sigma_step",
        "volatility_lag",
        "start_level",
        "horizon_variance",
        "volatility_floored",
    }


def test_forced_models_and_unknown_model(dataset_a):
    x, ts = dataset_a.values, dataset_a.timestamps
    assert reserve_price(x, ts, num_paths=1000, model="lognormal").model_reason == "requested"
    assert reserve_price(x[:100], ts[:100], num_paths=1000, model="mrj").model == "mrj"
    from handler.pricing import InvalidParameters

    with pytest.raises(InvalidParameters, match="model must be one of mrj, lognormal"):
        reserve_price(x, ts, model="black-scholes")
