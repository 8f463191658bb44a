"""Which model prices a reserve price, and why (``docs/pricing.md`` has the backtest behind it).

* ``mrj``: the reference's mean-reverting jump model with trend and seasonality,
  where the data identifies it: hourly buckets over at least 7 days, a fit that is
  not explosive (phi < 1), a jump variance that is not degenerate, a fit that
  passes the gradient check, and a price that is neither 0 nor the payoff's
  largest possible value (every path at the cap);
* ``lognormal``: otherwise, the zero-drift log-normal walk of ``lognormal``.

Each rule returns ``None`` when the jump model may price, else the one-line
reason that goes into the result as ``model_reason``.
"""

from __future__ import annotations

import numpy as np

from .mrj import GRADIENT_TOLERANCE
from .simulate import CAP, DISCOUNT

MRJ = "mrj"
LOGNORMAL = "lognormal"
MODELS = (MRJ, LOGNORMAL)
MRJ_BUCKET_SECONDS = 3600
MRJ_MIN_SPAN_SECONDS = 7 * 86400
# A jump variance this many times the residuals' own variance explains no data: the
# likelihood has run off along a jump component that (almost) never fires.
MAX_JUMP_VARIANCE_RATIO = 100.0


def mrj_unidentifiable(n: int, bucket_seconds: int) -> str | None:
    if int(bucket_seconds) != MRJ_BUCKET_SECONDS:
        return (
            f"{int(bucket_seconds)}s buckets: the jump model (trend, daily and weekly seasonality) "
            f"is only fitted on hourly buckets over 7 days or more"
        )
    if n * MRJ_BUCKET_SECONDS < MRJ_MIN_SPAN_SECONDS:
        needed = MRJ_MIN_SPAN_SECONDS // MRJ_BUCKET_SECONDS
        return f"{n} hourly buckets: the jump model needs at least {needed} (7 days)"
    return None


def mrj_fit_problem(params, gradient, gradient_ok: bool, residuals) -> str | None:
    theta = np.asarray(params, dtype=np.float64)
    if theta.shape != (6,) or not np.all(np.isfinite(theta)):
        return "the jump-model fit did not produce finite parameters"
    phi, sigma_sq_j = float(theta[1]), float(theta[4])
    if phi >= 1.0:
        return f"explosive jump-model fit: phi = {phi:.6g} >= 1"
    if phi <= -1.0:
        return f"oscillating jump-model fit: phi = {phi:.6g} <= -1"
    variance = float(np.var(np.asarray(residuals, dtype=np.float64)))
    if sigma_sq_j > MAX_JUMP_VARIANCE_RATIO * variance:
        return (
            f"degenerate jump variance: sigma_sq_j = {sigma_sq_j:.6g} is over {MAX_JUMP_VARIANCE_RATIO:g} times "
            f"the residual variance {variance:.6g}"
        )
    if not gradient_ok:
        worst = float(np.max(np.abs(np.asarray(gradient, dtype=np.float64))))
        return f"jump-model fit failed the gradient check (max |gradient| {worst:.3g}, tolerance {GRADIENT_TOLERANCE})"
    return None


def mrj_price_problem(price: float, strike: float) -> str | None:
    if not price > 0.0:
        return "the jump model prices 0: no simulated path ends above the strike"
    if price >= CAP * strike * DISCOUNT * (1.0 - 1e-12):
        return "the jump model prices the payoff's maximum: every simulated path ends at the cap"
    return None
