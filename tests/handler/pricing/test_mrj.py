from __future__ import annotations

import numpy as np
import pytest

from handler.pricing import InvalidParameters, fit_mrj, neg_log_likelihood, reference_gradient
from handler.pricing.mrj import check_simulation_params, initial_params, nll_and_gradient

# The reference optimiser (steepest descent, Armijo, gtol 5e-3, repeated to a
# fixed point: 2000 + 2000 + 47 iterations) run on Dataset A's residuals.
REFERENCE_DESCENT_PARAMS = [
    -0.01762758053392695,
    0.8891315724261829,
    0.04932079729333588,
    0.013823639250185725,
    0.15252748093379231,
    0.3366716610411729,
]


@pytest.fixture(scope="module")
def generate_inputs(load_vector):
    v = load_vector("mrj_generate_inputs.json")
    return np.array(v["params"]), np.array(v["pt"]), np.array(v["pt_1"]), v


def test_nll_on_generate_inputs(generate_inputs):
    theta, pt, pt_1, v = generate_inputs
    expected = v["derived_by_research_helper"]["neg_log_likelihood"]
    assert neg_log_likelihood(theta, pt, pt_1) == pytest.approx(expected, rel=1e-12)


def test_nll_is_nan_where_a_variance_is_not_positive(generate_inputs):
    theta, pt, pt_1, _ = generate_inputs
    bad = theta.copy()
    bad[3] = -1e-3
    assert np.isnan(neg_log_likelihood(bad, pt, pt_1))


def test_analytic_gradient_matches_central_differences(generate_inputs, dataset_a_result):
    _, pt, pt_1, _ = generate_inputs
    for theta in (initial_params(pt), np.array([0.01, 0.5, 0.02, 0.004, 0.01, 0.3])):
        _, grad = nll_and_gradient(theta, pt, pt_1)
        numeric = np.empty(6)
        for k in range(6):
            h = 1e-6 * max(abs(theta[k]), 1e-3)
            up, down = theta.copy(), theta.copy()
            up[k] += h
            down[k] -= h
            numeric[k] = (neg_log_likelihood(up, pt, pt_1) - neg_log_likelihood(down, pt, pt_1)) / (2 * h)
        assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-4)


def test_fit_on_dataset_a_passes_reference_gradient_test(dataset_a_result):
    r = dataset_a_result
    grad = reference_gradient(r.params, r.pt, r.pt_1)
    assert np.array_equal(grad, r.gradient)
    assert np.max(np.abs(grad)) <= 0.05
    assert r.gradient_ok


def test_fit_lands_on_the_reference_optimum(dataset_a_result):
    assert dataset_a_result.params == pytest.approx(REFERENCE_DESCENT_PARAMS, rel=1e-3)
    assert neg_log_likelihood(
        dataset_a_result.params, dataset_a_result.pt, dataset_a_result.pt_1
    ) <= neg_log_likelihood(np.array(REFERENCE_DESCENT_PARAMS), dataset_a_result.pt, dataset_a_result.pt_1)


def test_fit_stays_in_simulation_domain(generate_inputs):
    _, pt, pt_1, _ = generate_inputs
    fit = fit_mrj(pt, pt_1)
    check_simulation_params(fit.params)
    assert fit.params[3] > 0 and fit.params[4] >= 0 and 0 <= fit.params[5] <= 1
    assert fit.gradient.shape == (6,)


@pytest.mark.parametrize(
    "theta",
    [
        [0, 0.5, 0, 0.01, 0.01, 1.2],
        [0, 0.5, 0, 0.01, 0.01, -0.1],
        [0, 0.5, 0, -0.01, 0.01, 0.3],
        [0, 0.5, 0, 0.01, -0.01, 0.3],
        [0, 0.5, 0, float("nan"), 0.01, 0.3],
    ],
)
def test_simulation_rejects_params_with_a_clear_error(theta):
    with pytest.raises(InvalidParameters):
        check_simulation_params(theta)


def test_hessian_at_the_variance_floor_stays_in_the_domain():
    """The Newton polish differentiates at a variance on its floor; a central step below it is invalid."""
    from handler.pricing.mrj import MIN_VARIANCE, _analytic_hessian

    rng = np.random.default_rng(2)
    pt_1 = rng.normal(0, 0.01, 200)
    pt = 0.5 * pt_1 + rng.normal(0, 0.01, 200)
    theta = np.array([0.0, 0.5, 0.0, MIN_VARIANCE, 1e-4, 1.0])
    hess = _analytic_hessian(theta, pt, pt_1, np.ones(6, dtype=bool))
    assert hess.shape == (6, 6) and np.all(np.isfinite(hess))


def test_forced_jump_model_on_a_demo_chain_window_that_once_crashed_the_fit():
    """A 36-minute block range whose fit ran its variance to the floor (a math domain error before)."""
    from handler.chain.demo import DEFAULT_START, generate_chain
    from handler.pricing import reserve_price

    headers = list(generate_chain(DEFAULT_START, 1670413680))[-180:]  # the chain depends on where it starts
    ts = np.array([h["timestamp"] for h in headers], dtype=np.int64)
    fees = np.array([float(h["base_fee_per_gas"]) for h in headers])
    assert ts[0] == 1670411520
    r = reserve_price(fees, ts, num_paths=200, bucket_seconds=12, model="mrj")
    assert r.model == "mrj" and np.all(np.isfinite(r.params))
