"""The checks a verifier runs on claimed values (docs/pricing.md).

The seasonal fit is ``remove_trend_and_seasonality``, so the verifier fits the
same identifiable harmonics as the engine (a harmonic only when the data covers
a full period; the others must be claimed as 0.0), and the re-simulation steps one
bucket at a time like the engine (bucket length from the timestamps).

Tolerances are the reference driver values: 0.00001 % for the fitted
intermediates, absolute 0.05 for the likelihood gradient, 5 % for the reserve
price (against a fresh simulation) and 1 % for the TWAP. Fitted vectors are
compared against the vector's scale so last-bit differences between machines
near zero pass (``error_bound_fitted_vec``). Every check runs; the result names
the first one that failed.

The reserve price is checked for the model that priced it (``model_choice``):
``verify_claims`` takes it from the claims, ``verify_reserve_price(model=None)``
re-derives it from the data (``docs/pricing.md``, "Reproducibility").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import PricingError
from .model_choice import LOGNORMAL, MODELS, mrj_fit_problem, mrj_price_problem, mrj_unidentifiable
from .mrj import GRADIENT_TOLERANCE, PARAM_NAMES, bounded_gradient, check_simulation_params, gradient_test
from .reserve_price import (
    DEFAULT_NUM_PATHS,
    REFERENCE_N_PERIODS,
    REFERENCE_TWAP_WINDOW,
    SeasonalFit,
    infer_bucket_seconds,
    remove_trend_and_seasonality,
    scaled_window,
    simulation_inputs,
)
from .reserve_price import reserve_price as engine_reserve_price
from .simulate import simulate_payoff
from .twap import as_series, trailing_mean, twap

FLOATING_POINT_TOLERANCE = 0.00001  # percent
RESERVE_PRICE_TOLERANCE = 5.0  # percent
TWAP_TOLERANCE = 1.0  # percent


def percentage_diff(target: float, calculated: float) -> float:
    if target == 0:
        return 0.0 if calculated == 0 else 100.0
    return abs(target - calculated) / abs(target) * 100.0


def error_bound_f64(target: float, calculated: float, tolerance: float) -> bool:
    """Strict: passes iff the percentage difference is below the tolerance."""
    return percentage_diff(float(target), float(calculated)) < tolerance


def error_bound_vec(target, calculated, tolerance: float) -> bool:
    """Element-wise; false on a shape mismatch; equality with the tolerance passes."""
    t = np.asarray(target, dtype=np.float64)
    c = np.asarray(calculated, dtype=np.float64)
    if t.shape != c.shape:
        return False
    return all(percentage_diff(a, b) <= tolerance for a, b in zip(t.ravel().tolist(), c.ravel().tolist()))


def error_bound_fitted_vec(target, calculated, tolerance: float) -> bool:
    """``error_bound_vec`` for fitted vectors (residuals, seasonal coefficients) across machines.

    A least-squares residual or coefficient near zero carries the rounding of the whole
    fit (different BLAS builds and CPUs differ in the last bits), so its *relative*
    difference can be arbitrarily large. Each element passes if it is within the
    tolerance relative to itself or to the vector's largest magnitude.
    """
    t = np.asarray(target, dtype=np.float64)
    c = np.asarray(calculated, dtype=np.float64)
    if t.shape != c.shape or not (np.all(np.isfinite(t)) and np.all(np.isfinite(c))):
        return False
    scale = float(np.max(np.abs(t))) if t.size else 0.0
    return bool(np.all(np.abs(t - c) <= tolerance / 100.0 * np.maximum(np.abs(t), scale)))


error_bound_dvec = error_bound_vec
error_bound_matrix = error_bound_vec


def error_bound_simulated_log_prices(target, calculated, element_tolerance: float, matrix_tolerance: float) -> bool:
    """Passes iff fewer than ``matrix_tolerance`` % of the elements differ by more than ``element_tolerance`` %."""
    t = np.asarray(target, dtype=np.float64)
    c = np.asarray(calculated, dtype=np.float64)
    if t.shape != c.shape:
        return False
    bad = sum(percentage_diff(a, b) > element_tolerance for a, b in zip(t.ravel().tolist(), c.ravel().tolist()))
    return bad / t.size * 100.0 < matrix_tolerance


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class VerificationResult:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed_check(self) -> str | None:
        return next((c.name for c in self.checks if not c.passed), None)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]

    def add(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(passed), detail))
        return bool(passed)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "failed_check": self.failed_check,
            "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks],
        }


def _max_pd(target, calculated) -> str:
    t = np.asarray(target, dtype=np.float64).ravel()
    c = np.asarray(calculated, dtype=np.float64).ravel()
    if t.shape != c.shape:
        return f"shape {t.shape} vs {c.shape}"
    worst = max((percentage_diff(a, b) for a, b in zip(t.tolist(), c.tolist())), default=0.0)
    return f"max difference {worst:.3g} %"


def verify_twap(values, claimed_twap: float, *, tolerance: float = TWAP_TOLERANCE) -> VerificationResult:
    result = VerificationResult()
    computed = twap(values)
    result.add(
        "twap",
        error_bound_f64(computed, claimed_twap, tolerance),
        f"computed {computed!r}, claimed {claimed_twap!r}, {percentage_diff(computed, claimed_twap):.3g} %",
    )
    return result


def verify_reserve_price(
    values,
    *,
    slope: float,
    intercept: float,
    season_params,
    residuals,
    twap_7d,
    params,
    reserve_price: float,
    twap_result: float | None = None,
    timestamps=None,
    pt=None,
    pt_1=None,
    n_periods: int | None = None,
    num_paths: int = DEFAULT_NUM_PATHS,
    seed: int = 0,
    floating_point_tolerance: float = FLOATING_POINT_TOLERANCE,
    gradient_tolerance: float = GRADIENT_TOLERANCE,
    reserve_price_tolerance: float = RESERVE_PRICE_TOLERANCE,
    twap_tolerance: float = TWAP_TOLERANCE,
    model: str | None = None,
) -> VerificationResult:
    """Recompute what the verifier guests recompute and compare with the claims.

    ``model`` is the claims' ``model`` (``"mrj"`` or ``"lognormal"``); ``None`` (older
    claims, or a caller that does not pass it) re-derives it from the data exactly as
    the engine chooses (``model_choice``). A ``lognormal`` claim is checked by
    re-running the engine on the data with the claimed seed, path count and horizon:
    the fallback must be the model the engine chooses there, and the price must agree
    within the reserve-price tolerance. An ``mrj`` claim gets the checks below, plus
    the fallback rules on the claimed parameters and price (``model_check``).

    Checks, in order: ``residuals``, ``season_params``, ``slope``, ``intercept``
    (remove-seasonality), ``twap_7d``, ``pt_pt_1`` (when pt/pt_1 are claimed),
    ``params_domain`` and ``gradient`` (forward-difference gradient of the
    likelihood at the claimed parameters; first-order optimality on the domain,
    i.e. one-sided for a parameter on a bound, see ``mrj.gradient_test``),
    ``reserve_price`` (a fresh
    simulation from the claimed values with ``seed``), ``twap`` (when claimed).
    """
    x = as_series(values)
    n = len(x)
    result = VerificationResult()
    tol = floating_point_tolerance
    bucket = infer_bucket_seconds(timestamps, n)
    horizon = scaled_window(REFERENCE_N_PERIODS, n, bucket) if n_periods is None else int(n_periods)
    engine = None
    if model is None:
        if mrj_unidentifiable(n, bucket) is not None:
            model = LOGNORMAL
        else:
            engine = _engine(x, timestamps, seed, num_paths, horizon)
            model = engine.model
    if model not in MODELS:
        result.add("model", False, f"unknown model {model!r}")
        return result
    if model == LOGNORMAL:
        return _verify_lognormal(
            result,
            x,
            timestamps,
            engine,
            seed=seed,
            num_paths=num_paths,
            horizon=horizon,
            reserve_price=reserve_price,
            twap_result=twap_result,
            reserve_price_tolerance=reserve_price_tolerance,
            twap_tolerance=twap_tolerance,
        )
    fit = remove_trend_and_seasonality(x, timestamps)
    residuals = np.asarray(residuals, dtype=np.float64)
    season_params = np.asarray(season_params, dtype=np.float64)
    result.add("residuals", error_bound_fitted_vec(residuals, fit.residuals, tol), _max_pd(residuals, fit.residuals))
    result.add(
        "season_params",
        error_bound_fitted_vec(season_params, fit.season_params, tol),
        _max_pd(season_params, fit.season_params),
    )
    result.add("slope", error_bound_f64(slope, fit.slope, tol), f"claimed {slope!r}, computed {fit.slope!r}")
    result.add(
        "intercept",
        error_bound_f64(intercept, fit.intercept, tol),
        f"claimed {intercept!r}, computed {fit.intercept!r}",
    )
    window = scaled_window(REFERENCE_TWAP_WINDOW, n, bucket)
    computed_twap_7d = trailing_mean(x, window)
    twap_7d = np.asarray(twap_7d, dtype=np.float64)
    result.add("twap_7d", error_bound_vec(twap_7d, computed_twap_7d, tol), _max_pd(twap_7d, computed_twap_7d))

    derived_pt, derived_pt_1 = residuals[1:], residuals[:-1]
    if pt is not None or pt_1 is not None:
        pt = derived_pt if pt is None else np.asarray(pt, dtype=np.float64)
        pt_1 = derived_pt_1 if pt_1 is None else np.asarray(pt_1, dtype=np.float64)
        same = error_bound_fitted_vec(derived_pt, pt, tol) and error_bound_fitted_vec(derived_pt_1, pt_1, tol)
        result.add("pt_pt_1", same, f"pt {_max_pd(derived_pt, pt)}, pt_1 {_max_pd(derived_pt_1, pt_1)}")
    else:
        pt, pt_1 = derived_pt, derived_pt_1

    theta = np.asarray(params, dtype=np.float64)
    try:
        check_simulation_params(theta)
        domain_ok = True
        result.add("params_domain", True)
    except PricingError as exc:
        domain_ok = False
        result.add("params_domain", False, str(exc))

    grad = np.full(6, np.nan)
    if theta.shape == (6,) and len(pt) == len(pt_1):
        with np.errstate(all="ignore"):
            grad = bounded_gradient(theta, pt, pt_1)
        grad_ok, free = gradient_test(theta, grad, gradient_tolerance)
        held = [name for name, f in zip(PARAM_NAMES, free.tolist()) if not f]
        result.add(
            "gradient",
            grad_ok,
            f"gradient {[float(g) for g in grad]}, tolerance {gradient_tolerance}"
            + (f"; at a bound (one-sided test): {', '.join(held)}" if held else ""),
        )
    else:
        result.add("gradient", False, "params must be 6 numbers and pt, pt_1 of equal length")

    blocked = (
        mrj_unidentifiable(n, bucket)
        or mrj_fit_problem(theta, grad, True, residuals)
        or mrj_price_problem(float(reserve_price), float(twap_7d[-1]) if len(twap_7d) else 0.0)
    )
    result.add(
        "model_check", blocked is None, "mrj: identifiable, fit and price usable" if blocked is None else blocked
    )

    if domain_ok and len(twap_7d) == n and len(residuals) == n and season_params.shape == (12,):
        claimed_fit = SeasonalFit(float(slope), float(intercept), season_params, residuals)
        try:
            inputs = simulation_inputs(x, timestamps, claimed_fit, twap_7d, theta, horizon, window)
            sim = simulate_payoff(inputs, num_paths, np.random.Generator(np.random.PCG64(seed)))
            _check_reserve_price(result, sim.price, sim.standard_error, reserve_price, reserve_price_tolerance)
        except PricingError as exc:
            result.add("reserve_price", False, str(exc))
    else:
        result.add("reserve_price", False, "cannot simulate from the claimed values")

    _check_twap(result, x, twap_result, twap_tolerance)
    return result


def _engine(x, timestamps, seed: int, num_paths: int, horizon: int):
    return engine_reserve_price(x, timestamps, seed=seed, num_paths=num_paths, n_periods=horizon)


def _verify_lognormal(
    result: VerificationResult,
    x,
    timestamps,
    engine,
    *,
    seed: int,
    num_paths: int,
    horizon: int,
    reserve_price: float,
    twap_result,
    reserve_price_tolerance: float,
    twap_tolerance: float,
) -> VerificationResult:
    try:
        engine = engine or _engine(x, timestamps, seed, num_paths, horizon)
    except PricingError as exc:
        result.add("model", False, str(exc))
        return result
    result.add(
        "model",
        engine.model == LOGNORMAL,
        f"engine chooses {engine.model}" + (f" ({engine.model_reason})" if engine.model_reason else ""),
    )
    _check_reserve_price(result, engine.price, engine.standard_error, reserve_price, reserve_price_tolerance)
    _check_twap(result, x, twap_result, twap_tolerance)
    return result


def _check_reserve_price(
    result: VerificationResult, recomputed: float, standard_error: float, claimed: float, tolerance: float
) -> None:
    result.add(
        "reserve_price",
        error_bound_f64(recomputed, claimed, tolerance),
        f"recomputed {recomputed!r} (se {standard_error:.4g}), claimed {claimed!r}, "
        f"{percentage_diff(recomputed, claimed):.3g} %",
    )


def _check_twap(result: VerificationResult, x: np.ndarray, claimed: float | None, tolerance: float) -> None:
    if claimed is not None:
        computed = twap(x)
        result.add("twap", error_bound_f64(computed, claimed, tolerance), f"computed {computed!r}, claimed {claimed!r}")


def verify_claims(values, claims: dict, *, timestamps=None, **kwargs) -> VerificationResult:
    """Verify a reserve price's claims (``ReservePriceResult.to_json``) as produced by the engine.

    Takes the model from ``claims["model"]``; the long series (residuals, twap_7d)
    are recomputed from the data when the claims leave them out.
    """
    x = as_series(values)
    params = claims.get("params", {})
    if isinstance(params, dict):
        params = [float(params.get(name, math.nan)) for name in PARAM_NAMES]
    fit = None
    residuals = claims.get("residuals")
    if residuals is None:
        fit = remove_trend_and_seasonality(x, timestamps)
        residuals = fit.residuals
    twap_7d = claims.get("twap_7d")
    if twap_7d is None:
        bucket = infer_bucket_seconds(timestamps, len(x))
        twap_7d = trailing_mean(x, scaled_window(REFERENCE_TWAP_WINDOW, len(x), bucket))
    for key in ("n_periods", "num_paths"):
        if claims.get(key) is not None:
            kwargs.setdefault(key, int(claims[key]))
    return verify_reserve_price(
        x,
        slope=float(claims.get("slope", math.nan)),
        intercept=float(claims.get("intercept", math.nan)),
        season_params=claims.get("season_params", []),
        residuals=residuals,
        twap_7d=twap_7d,
        params=params,
        reserve_price=float(claims["price"]),
        twap_result=float(claims["twap"]) if claims.get("twap") is not None else None,
        timestamps=timestamps,
        seed=int(claims.get("seed", 0)),
        model=claims.get("model"),
        **kwargs,
    )


def verify_result(values, result, *, timestamps=None, **kwargs) -> VerificationResult:
    """Verify a ``ReservePriceResult`` against its own data (convenience for the handler)."""
    kwargs.setdefault("n_periods", result.n_periods)
    kwargs.setdefault("num_paths", result.num_paths)
    kwargs.setdefault("seed", result.seed)
    kwargs.setdefault("model", result.model)
    return verify_reserve_price(
        values,
        slope=result.slope,
        intercept=result.intercept,
        season_params=result.season_params,
        residuals=result.residuals,
        twap_7d=result.twap_7d,
        params=result.params,
        reserve_price=result.price,
        twap_result=result.twap,
        timestamps=timestamps,
        **kwargs,
    )


__all__ = [
    "Check",
    "VerificationResult",
    "error_bound_dvec",
    "error_bound_f64",
    "error_bound_matrix",
    "error_bound_fitted_vec",
    "error_bound_simulated_log_prices",
    "error_bound_vec",
    "percentage_diff",
    "verify_claims",
    "verify_reserve_price",
    "verify_result",
    "verify_twap",
]
