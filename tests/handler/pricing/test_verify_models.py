"""The verifier takes the model from the claims (or re-derives it) and tolerates last-bit differences."""

from __future__ import annotations

import numpy as np
import pytest

from handler.pricing import reserve_price
from handler.pricing.verify import error_bound_fitted_vec, error_bound_vec, verify_claims, verify_reserve_price


@pytest.fixture(scope="module")
def minute_series():
    rng = np.random.default_rng(7)
    n = 720  # 12 hours of minutes
    ts = 1672531200 + 60 * np.arange(n)
    x = 2e10 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    return ts, x


def test_lognormal_claims_verify_with_and_without_the_model(minute_series):
    ts, x = minute_series
    r = reserve_price(x, ts, num_paths=2000)
    claims = r.to_json()
    assert r.model == "lognormal"
    assert verify_claims(x, claims, timestamps=ts).ok
    legacy = {k: v for k, v in claims.items() if k != "model"}  # a caller that does not pass the model
    assert verify_claims(x, legacy, timestamps=ts).ok


def test_tampered_lognormal_price_fails(minute_series):
    ts, x = minute_series
    claims = reserve_price(x, ts, num_paths=2000).to_json()
    claims["price"] *= 1.06
    result = verify_claims(x, claims, timestamps=ts)
    assert not result.ok and result.failed_check == "reserve_price"


def test_a_fallback_the_engine_would_not_take_fails(dataset_a):
    x, ts = dataset_a.values, dataset_a.timestamps
    r = reserve_price(x, ts, num_paths=2000, model="lognormal")  # forced: the engine would use the jump model
    result = verify_claims(x, r.to_json(), timestamps=ts)
    assert not result.ok and result.failed_check == "model" and "engine chooses mrj" in result.checks[0].detail


def test_mrj_claims_with_an_explosive_phi_fail_the_model_check(dataset_a_result, dataset_a):
    claims = dataset_a_result.to_json()
    assert verify_claims(dataset_a.values, claims, timestamps=dataset_a.timestamps).ok
    claims["params"] = {**claims["params"], "phi": 1.01}
    result = verify_claims(dataset_a.values, claims, timestamps=dataset_a.timestamps)
    assert "model_check" in result.failed and "explosive" in next(
        c.detail for c in result.checks if c.name == "model_check"
    )


def test_fitted_vectors_tolerate_last_bit_differences_near_zero():
    target = np.array([0.3, -0.2, 1e-12, 0.0])
    other_cpu = target * (1 + 2e-9) + np.array([0, 0, 3e-17, 5e-18])  # BLAS/CPU rounding
    assert not error_bound_vec(target, other_cpu, 0.00001)  # per-element relative: the near-zero ones fail
    assert error_bound_fitted_vec(target, other_cpu, 0.00001)
    assert not error_bound_fitted_vec(target, target + np.array([0, 0, 1e-6, 0]), 0.00001)
    assert not error_bound_fitted_vec(target, target[:3], 0.00001)


def test_mrj_claims_survive_a_one_part_per_million_perturbation(dataset_a_result, dataset_a):
    """What another machine may claim: every fitted float off in its last bits (here 1e-9 relative)."""
    r = dataset_a_result
    bump = 1 + 1e-9
    result = verify_reserve_price(
        dataset_a.values,
        slope=r.slope * bump,
        intercept=r.intercept * bump,
        season_params=r.season_params * bump,
        residuals=r.residuals * bump,
        twap_7d=r.twap_7d * bump,
        params=r.params * bump,
        reserve_price=r.price * (1 + 1e-6),
        twap_result=r.twap,
        timestamps=dataset_a.timestamps,
        seed=r.seed,
        num_paths=r.num_paths,
        model="mrj",
    )
    assert result.ok, result.to_json()
