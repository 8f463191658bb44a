"""Mean-reverting jump model: likelihood, gradients and the fit (docs/pricing.md).

Parameters ``theta = (a, phi, mu_j, sigma_sq, sigma_sq_j, lam)`` describe
``pt = a + phi * pt_1 + eps`` where ``eps`` is ``N(mu_j, sigma_sq + sigma_sq_j)``
with probability ``lam`` and ``N(0, sigma_sq)`` otherwise.

The reference fits with steepest descent on forward-difference gradients
(~115 000 likelihood evaluations). Here L-BFGS-B with the analytic gradient
finds the same optimum in a few dozen evaluations; the result is then accepted
only if it passes the reference's own test, the forward-difference gradient
of ``reference_gradient`` with every component at most 0.05 in absolute value.

Bounds. The simulation needs sigma_sq > 0, sigma_sq_j >= 0 and lambda in [0, 1]
(the reference is unbounded and panics there). When the maximum of the
likelihood over that domain lies on a bound (typically sigma_sq_j = 0: jumps of
a fixed size, or the degenerate "no jumps" model), the gradient cannot vanish
there, so the test (``gradient_test``, used by the fit and by the verifier) is
the first-order optimality (KKT) condition: a *free* parameter's component must
be within the tolerance, and a parameter held at a bound only needs its
component to point out of the domain, within the tolerance (>= -tol at a lower
bound, <= tol at lambda = 1). ``free_params`` reports which were free. A
parameter at a bound is one equal to it (L-BFGS-B returns bounds exactly). At
sigma_sq_j = 0 the reference step is ``eps * 1e10 = 2.2e-6``, where the forward
difference is dominated by the curvature, so only its sign is meaningful; at
lambda = 1 the forward step would leave [0, 1], so that component is a backward
difference (``bounded_gradient``). For an interior point ``bounded_gradient`` is
``reference_gradient`` and the test is the reference's.

Convergence. L-BFGS-B can stop early on this badly scaled likelihood (the
variances are ~1e-3 while phi is ~1) with "relative reduction of f" at a point
whose gradient is far from zero; the fit then restarts it from where it stopped
(a fresh quasi-Newton memory), which is what the reference's repeated calls do.
The reference start also often leads to the degenerate point where the jump
component coincides with the normal one (sigma_sq_j = 0, mu_j = 0, any lambda):
it satisfies the first-order conditions but is a saddle, not a maximum of the
likelihood; the fit then also tries a fixed set of starts and keeps the
lowest likelihood among the points that pass the test (deterministic, so the
same data always gives the same parameters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .errors import InvalidParameters

PARAM_NAMES = ("a", "phi", "mu_j", "sigma_sq", "sigma_sq_j", "lambda")
DENSITY_FLOOR = 1e-10  # added inside the log by the reference
GRADIENT_TOLERANCE = 0.05
MIN_VARIANCE = 1e-12  # keeps sigma_sq strictly positive so both densities exist
_EPS = float(np.finfo(np.float64).eps)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_BOUNDS = [(None, None), (None, None), (None, None), (MIN_VARIANCE, None), (0.0, None), (0.0, 1.0)]
_LOWER = np.array([-np.inf, -np.inf, -np.inf, MIN_VARIANCE, 0.0, 0.0])
_UPPER = np.array([np.inf, np.inf, np.inf, np.inf, np.inf, 1.0])
MAX_RESTARTS = 8
_LBFGS_OPTIONS = {"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9}


def initial_params(pt: np.ndarray) -> np.ndarray:
    """The reference start point (host "original" variant: population variance of pt)."""
    v = float(np.var(pt))
    return np.array([-3.928e-2, 2.873e-4, 4.617e-2, v, v, 0.2])


def _densities(theta, pt, pt_1):
    a, phi, mu_j, s2, sj2, lam = (float(t) for t in theta)
    r = pt - a - phi * pt_1
    v1 = s2 + sj2
    rm = r - mu_j
    g1 = np.exp(-(rm * rm) / (2.0 * v1)) * (_INV_SQRT_2PI / math.sqrt(v1))
    g0 = np.exp(-(r * r) / (2.0 * s2)) * (_INV_SQRT_2PI / math.sqrt(s2))
    return r, rm, v1, g1, g0, lam


def neg_log_likelihood(theta, pt: np.ndarray, pt_1: np.ndarray) -> float:
    """``-sum(ln(f_j + 1e-10))``; NaN (like the reference) where a variance is not positive."""
    s2, sj2, lam = float(theta[3]), float(theta[4]), float(theta[5])
    if not (s2 > 0.0 and s2 + sj2 > 0.0):
        return math.nan
    _, _, _, g1, g0, lam = _densities(theta, pt, pt_1)
    f = lam * g1 + (1.0 - lam) * g0
    return float(-np.sum(np.log(f + DENSITY_FLOOR)))


def nll_and_gradient(theta, pt: np.ndarray, pt_1: np.ndarray) -> tuple[float, np.ndarray]:
    """The likelihood and its analytic gradient in one pass."""
    r, rm, v1, g1, g0, lam = _densities(theta, pt, pt_1)
    s2 = float(theta[3])
    f = lam * g1 + (1.0 - lam) * g0
    w = 1.0 / (f + DENSITY_FLOOR)
    # d f / d r (both components), and d f / d variance for each component
    dg1_dv = g1 * ((rm * rm) / (2.0 * v1 * v1) - 0.5 / v1)
    dg0_dv = g0 * ((r * r) / (2.0 * s2 * s2) - 0.5 / s2)
    df_dr = -(lam * g1 * rm / v1 + (1.0 - lam) * g0 * r / s2)
    wr = w * df_dr
    grad = np.array(
        [
            np.sum(wr),  # dr/da = -1, and NLL = -sum ln f
            np.dot(wr, pt_1),  # dr/dphi = -pt_1
            -lam * np.sum(w * g1 * rm) / v1,  # mu_j
            -np.sum(w * (lam * dg1_dv + (1.0 - lam) * dg0_dv)),
            -lam * np.sum(w * dg1_dv),
            -np.sum(w * (g1 - g0)),
        ]
    )
    return float(-np.sum(np.log(f + DENSITY_FLOOR))), grad


def reference_step(theta_k: float) -> float:
    """The reference's forward-difference step: sqrt(eps |x|), or eps * 1e10 at zero."""
    return math.sqrt(_EPS * abs(theta_k)) if theta_k != 0.0 else _EPS * 1e10


def reference_gradient(theta, pt: np.ndarray, pt_1: np.ndarray) -> np.ndarray:
    """Forward-difference gradient exactly as the reference (and the verifier guest) computes it."""
    theta = np.asarray(theta, dtype=np.float64)
    f0 = neg_log_likelihood(theta, pt, pt_1)
    g = np.empty(6)
    for k in range(6):
        h = reference_step(float(theta[k]))
        shifted = theta.copy()
        shifted[k] += h
        g[k] = (neg_log_likelihood(shifted, pt, pt_1) - f0) / h
    return g


def bounds_held(theta) -> tuple[np.ndarray, np.ndarray]:
    """``(at_lower, at_upper)``: which parameters sit on a bound of the simulation's domain."""
    theta = np.asarray(theta, dtype=np.float64)
    return theta <= _LOWER, theta >= _UPPER


def bounded_gradient(theta, pt: np.ndarray, pt_1: np.ndarray) -> np.ndarray:
    """``reference_gradient``, with a backward difference for a parameter at its upper bound (lambda = 1)."""
    theta = np.asarray(theta, dtype=np.float64)
    g = reference_gradient(theta, pt, pt_1)
    _, at_upper = bounds_held(theta)
    if np.any(at_upper):
        f0 = neg_log_likelihood(theta, pt, pt_1)
        for k in np.flatnonzero(at_upper).tolist():
            h = reference_step(float(theta[k]))
            shifted = theta.copy()
            shifted[k] -= h
            g[k] = (f0 - neg_log_likelihood(shifted, pt, pt_1)) / h
    return g


def gradient_test(theta, gradient, tolerance: float = GRADIENT_TOLERANCE) -> tuple[bool, np.ndarray]:
    """First-order optimality on the domain: ``(ok, free)``; see the module docstring.

    Free parameters: ``|g| <= tol``. At a lower bound: ``g >= -tol``. At an upper
    bound: ``g <= tol``. Any non-finite component fails.
    """
    g = np.asarray(gradient, dtype=np.float64)
    at_lower, at_upper = bounds_held(theta)
    free = ~(at_lower | at_upper)
    with np.errstate(invalid="ignore"):
        passed = np.where(free, np.abs(g) <= tolerance, np.where(at_lower, g >= -tolerance, g <= tolerance))
    return bool(g.shape == (6,) and np.all(np.isfinite(g)) and np.all(passed)), free


def check_simulation_params(theta) -> None:
    """Reject parameters the simulation cannot use (the reference panics on them)."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (6,) or not np.all(np.isfinite(theta)):
        raise InvalidParameters("model parameters must be 6 finite numbers")
    if not 0.0 <= theta[5] <= 1.0:
        raise InvalidParameters(f"jump probability lambda must be in [0, 1], got {theta[5]!r}")
    if theta[3] < 0.0:
        raise InvalidParameters(f"sigma_sq must be >= 0, got {theta[3]!r}")
    if theta[4] < 0.0:
        raise InvalidParameters(f"sigma_sq_j must be >= 0, got {theta[4]!r}")


@dataclass(frozen=True)
class MrjFit:
    params: np.ndarray
    nll: float
    gradient: np.ndarray  # reference forward-difference gradient at params
    gradient_ok: bool
    iterations: int
    method: str
    free: np.ndarray = None  # type: ignore[assignment]  # set in __post_init__; bool (6,): parameters not held at a bound by the likelihood

    def __post_init__(self) -> None:
        if self.free is None:
            object.__setattr__(self, "free", np.ones(6, dtype=bool))


def _armijo_descent(theta: np.ndarray, pt, pt_1, gtol: float, max_iterations: int) -> tuple[np.ndarray, int]:
    """The reference optimiser (steepest descent, Armijo backtracking, forward differences).

    Only used to polish an L-BFGS-B result that misses the gradient test, and
    kept inside the simulation's domain (a trial point outside is treated like
    the reference treats NaN: the step is halved).
    """
    f0 = neg_log_likelihood(theta, pt, pt_1)
    for it in range(max_iterations):
        g = bounded_gradient(theta, pt, pt_1)
        if not np.all(np.isfinite(g)) or gradient_test(theta, g, gtol)[0]:
            return theta, it
        at_lower, at_upper = bounds_held(theta)
        g = np.where((at_lower & (g > 0)) | (at_upper & (g < 0)), 0.0, g)  # projected: stay on the bound
        tau = 0.5 * float(g @ g)
        step = 1.0
        while step > 1e-30:
            trial = np.clip(theta - step * g, _LOWER, _UPPER)
            inside = trial[3] >= MIN_VARIANCE and trial[4] >= 0.0 and 0.0 <= trial[5] <= 1.0
            ft = neg_log_likelihood(trial, pt, pt_1) if inside else math.nan
            if ft <= f0 - step * tau:
                break
            step *= 0.5
        else:
            return theta, it
        theta, f0 = trial, ft
    return theta, max_iterations


def fit_mrj(pt: np.ndarray, pt_1: np.ndarray, start=None, *, gradient_tolerance: float = GRADIENT_TOLERANCE) -> MrjFit:
    """Maximum-likelihood fit inside the simulation's domain.

    Bounds: sigma_sq >= 1e-12, sigma_sq_j >= 0, lambda in [0, 1] (the reference
    is unbounded and panics later when these are violated).
    """
    pt = np.ascontiguousarray(pt, dtype=np.float64)
    pt_1 = np.ascontiguousarray(pt_1, dtype=np.float64)
    if pt.shape != pt_1.shape or pt.ndim != 1 or len(pt) < 2:
        raise InvalidParameters("pt and pt_1 must be 1-D, of equal length >= 2")
    x0 = initial_params(pt) if start is None else np.asarray(start, dtype=np.float64).copy()
    x0[3] = max(x0[3], MIN_VARIANCE)
    x0[4] = max(x0[4], 0.0)
    x0[5] = min(max(x0[5], 0.0), 1.0)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        theta, grad, ok, iterations, method = _fit_from(x0, pt, pt_1, gradient_tolerance)
        if _degenerate(theta):
            best = (neg_log_likelihood(theta, pt, pt_1) if ok else math.inf, theta, grad, ok, method)
            for alt in _alternative_starts(pt, pt_1):
                cand, cgrad, cok, cit, cmethod = _fit_from(alt, pt, pt_1, gradient_tolerance)
                iterations += cit
                cnll = neg_log_likelihood(cand, pt, pt_1)
                if cok and cnll < best[0]:
                    best = (cnll, cand, cgrad, cok, cmethod + "+multistart")
            _, theta, grad, ok, method = best
        nll = neg_log_likelihood(theta, pt, pt_1)
        ok, free = gradient_test(theta, grad, gradient_tolerance)
    return MrjFit(params=theta, nll=nll, gradient=grad, gradient_ok=ok, iterations=iterations, method=method, free=free)


def _lbfgsb(x0: np.ndarray, pt, pt_1):
    return minimize(
        nll_and_gradient, x0, args=(pt, pt_1), jac=True, method="L-BFGS-B", bounds=_BOUNDS, options=_LBFGS_OPTIONS
    )


def _fit_from(x0: np.ndarray, pt, pt_1, tol: float):
    """L-BFGS-B from ``x0``; restarts while it fails the test and still improves; Armijo polish last."""
    res = _lbfgsb(x0, pt, pt_1)
    theta = np.asarray(res.x, dtype=np.float64)
    iterations = int(res.nit)
    method = "L-BFGS-B"
    grad = bounded_gradient(theta, pt, pt_1)
    ok = gradient_test(theta, grad, tol)[0]
    f = neg_log_likelihood(theta, pt, pt_1)
    restarts = 0
    while not ok and restarts < MAX_RESTARTS:
        res = _lbfgsb(theta, pt, pt_1)
        trial = np.asarray(res.x, dtype=np.float64)
        ft = neg_log_likelihood(trial, pt, pt_1)
        restarts += 1
        iterations += int(res.nit)
        if not ft < f:
            break
        theta, f = trial, ft
        grad = bounded_gradient(theta, pt, pt_1)
        ok = gradient_test(theta, grad, tol)[0]
    if restarts:
        method += f"+{restarts}restart"
    if not ok:
        theta, extra = _newton_polish(theta, pt, pt_1, tol)
        iterations += extra
        method += "+newton"
        grad = bounded_gradient(theta, pt, pt_1)
        ok = gradient_test(theta, grad, tol)[0]
    if not ok:
        # The forward-difference gradient sees curvature the analytic one does
        # not; a few reference steps move to the point the reference accepts.
        theta, extra = _armijo_descent(theta, pt, pt_1, gtol=0.1 * tol, max_iterations=2000)
        iterations += extra
        method += "+armijo"
        grad = bounded_gradient(theta, pt, pt_1)
        ok = gradient_test(theta, grad, tol)[0]
    return theta, grad, ok, iterations, method


def _analytic_hessian(theta: np.ndarray, pt, pt_1, free: np.ndarray) -> np.ndarray:
    """Differences of the analytic gradient, free parameters only: central, or one-sided
    where a step would leave the bounds (a variance at its floor has no valid point below)."""
    idx = np.flatnonzero(free)
    hess = np.empty((len(idx), len(idx)))
    for col, k in enumerate(idx.tolist()):
        eps = 1e-6 * max(abs(float(theta[k])), 1e-4)
        up, down = theta.copy(), theta.copy()
        up[k] = min(float(theta[k]) + eps, float(_UPPER[k]))
        down[k] = max(float(theta[k]) - eps, float(_LOWER[k]))
        width = float(up[k] - down[k])
        hess[:, col] = (nll_and_gradient(up, pt, pt_1)[1][idx] - nll_and_gradient(down, pt, pt_1)[1][idx]) / width
    return 0.5 * (hess + hess.T)


def _newton_polish(theta: np.ndarray, pt, pt_1, tol: float, max_iterations: int = 20) -> tuple[np.ndarray, int]:
    """Newton steps on the *forward-difference* gradient, free parameters only.

    The reference's forward difference at theta is about the derivative at
    theta + h/2, so at the analytic optimum it reads ``f'' h / 2`` (e.g. with
    sigma_sq ~ 1e-3 on minute data, ``n sqrt(eps) / (4 sigma^3)`` ~ 0.1 > 0.05):
    the point the reference accepts is the optimum shifted by about half a step.
    These steps move there directly (a few iterations) where steepest descent
    would crawl.
    """
    for it in range(max_iterations):
        g = bounded_gradient(theta, pt, pt_1)
        ok, free = gradient_test(theta, g, 0.1 * tol)
        if ok or not np.all(np.isfinite(g)) or not free.any():
            return theta, it
        try:
            step = np.linalg.solve(_analytic_hessian(theta, pt, pt_1, free), g[free])
        except np.linalg.LinAlgError:
            return theta, it
        if not np.all(np.isfinite(step)):
            return theta, it
        scale = 1.0
        while scale > 1e-6:
            trial = theta.copy()
            trial[free] -= scale * step
            if (
                np.all(trial >= _LOWER)
                and np.all(trial <= _UPPER)
                and math.isfinite(neg_log_likelihood(trial, pt, pt_1))
            ):
                tg = bounded_gradient(trial, pt, pt_1)
                if np.all(np.isfinite(tg)) and np.max(np.abs(tg[free])) < np.max(np.abs(g[free])):
                    break
            scale *= 0.5
        else:
            return theta, it
        theta = trial
    return theta, max_iterations


def _degenerate(theta: np.ndarray) -> bool:
    """The jump component coincides with the normal one (sigma_sq_j = 0 and mu_j ~ 0): a saddle, not a maximum."""
    return bool(theta[4] <= 0.0 and abs(theta[2]) <= 1e-3 * math.sqrt(max(theta[3], MIN_VARIANCE)))


def _alternative_starts(pt: np.ndarray, pt_1: np.ndarray) -> list[np.ndarray]:
    """A fixed set of starts: AR(1) by OLS, jump probabilities 0.05/0.3/0.9, jump variance 0.5x and 5x."""
    x = np.column_stack([pt_1, np.ones_like(pt_1)])
    (phi, a), *_ = np.linalg.lstsq(x, pt, rcond=None)
    v = max(float(np.var(pt - a - phi * pt_1)), MIN_VARIANCE)
    return [np.array([float(a), float(phi), 0.0, 0.5 * v, k * v, lam]) for lam in (0.05, 0.3, 0.9) for k in (0.5, 5.0)]
