from __future__ import annotations

import numpy as np
import pytest

from handler.pricing.verify import (
    error_bound_dvec,
    error_bound_f64,
    error_bound_matrix,
    error_bound_simulated_log_prices,
    error_bound_vec,
    percentage_diff,
    verify_result,
    verify_twap,
)


def _filled(rows, cols):
    return (0.25 + 0.20 * np.arange(rows * cols)).reshape(rows, cols)


def test_error_bound_unit_cases(load_vector):
    fns = {"error_bound_vec": error_bound_vec, "error_bound_dvec": error_bound_dvec, "error_bound_f64": error_bound_f64}
    for case in load_vector("error_bound_unit_tests.json")["cases"]:
        fn = case["fn"]
        if fn == "error_bound_matrix":
            target = _filled(10, 20)
            calc = target.copy()
            calc[5, 5] *= case["scale"]
            assert error_bound_matrix(target, calc, case["tolerance"]) is case["expected"]
        elif fn == "error_bound_simulated_log_prices":
            target = _filled(10, 30)
            calc = target.copy()
            cells = [(0, j) for j in range(6)] + [(1, j) for j in range(6)] + [(2, 0), (2, 1)]
            if not case["expected"]:
                cells.append((2, 2))
            for cell in cells:
                calc[cell] *= 1.11
            assert (
                error_bound_simulated_log_prices(target, calc, case["element_wise_tolerance"], case["matrix_tolerance"])
                is case["expected"]
            )
        else:
            assert fns[fn](case["target"], case["calculated"], case["tolerance"]) is case["expected"]


def test_percentage_diff_zero_target_and_strictness():
    assert percentage_diff(0.0, 0.0) == 0.0 and percentage_diff(0.0, 1e-300) == 100.0
    assert not error_bound_f64(100.0, 101.0, 1.0)  # strict
    assert error_bound_vec([100.0], [101.0], 1.0)  # equality passes
    assert not error_bound_vec([1.0, 2.0], [1.0], 1.0)


def test_own_result_verifies(dataset_a, dataset_a_result):
    outcome = verify_result(dataset_a.values, dataset_a_result, timestamps=dataset_a.timestamps, num_paths=4000)
    assert outcome.ok and outcome.failed_check is None, outcome.to_json()


@pytest.mark.parametrize(
    "change, failed",
    [
        (dict(slope=lambda r: r.slope * (1 + 1e-6)), "slope"),
        (dict(intercept=lambda r: r.intercept * (1 + 1e-6)), "intercept"),
        (dict(season_params=lambda r: r.season_params * (1 + 1e-6)), "season_params"),
        (dict(twap_7d=lambda r: np.concatenate([r.twap_7d[:-1], [r.twap_7d[-1] * 1.01]])), "twap_7d"),
        (dict(params=lambda r: r.params + np.array([0, 0, 0, 1e-3, 0, 0])), "gradient"),
        (dict(params=lambda r: np.array([*r.params[:5], 1.5])), "params_domain"),
        (dict(reserve_price=lambda r: r.price * 1.06), "reserve_price"),
        (dict(twap_result=lambda r: r.twap * 1.011), "twap"),
    ],
)
def test_tampered_claims_name_the_failed_check(dataset_a, dataset_a_result, change, failed):
    from handler.pricing.verify import verify_reserve_price

    r = dataset_a_result
    claims = dict(
        slope=r.slope,
        intercept=r.intercept,
        season_params=r.season_params,
        residuals=r.residuals,
        twap_7d=r.twap_7d,
        params=r.params,
        reserve_price=r.price,
        twap_result=r.twap,
    )
    for key, fn in change.items():
        claims[key] = fn(r)
    outcome = verify_reserve_price(dataset_a.values, timestamps=dataset_a.timestamps, num_paths=4000, **claims)
    assert outcome.failed_check == failed, outcome.to_json()
    assert outcome.failed == [failed] or (failed == "params_domain" and outcome.failed[0] == failed)


def test_pt_claims_checked(dataset_a, dataset_a_result):
    from handler.pricing.verify import verify_reserve_price

    r = dataset_a_result
    pt = r.pt.copy()
    pt[3] *= 1.001
    outcome = verify_reserve_price(
        dataset_a.values,
        timestamps=dataset_a.timestamps,
        slope=r.slope,
        intercept=r.intercept,
        season_params=r.season_params,
        residuals=r.residuals,
        twap_7d=r.twap_7d,
        params=r.params,
        reserve_price=r.price,
        pt=pt,
        pt_1=r.pt_1,
        num_paths=2000,
    )
    assert outcome.failed_check == "pt_pt_1"


def test_verify_twap(dataset_a):
    from handler.pricing import twap

    t = twap(dataset_a.values)
    assert verify_twap(dataset_a.values, t * 1.0099).ok
    result = verify_twap(dataset_a.values, t * 1.0101)
    assert not result.ok and result.failed_check == "twap"
