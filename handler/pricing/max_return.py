"""Max return (the production rule and the window rule are in ``docs/pricing.md``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import InsufficientData
from .twap import as_series, window_sums

REFERENCE_POINTS = 5760
REFERENCE_WINDOW = 720
MIN_POINTS = 16


@dataclass(frozen=True)
class MaxReturnResult:
    value: float
    window: int
    period: int
    n: int

    def to_json(self) -> dict:
        return asdict(self)


def max_return_window(n: int) -> int:
    """W = P for ``n`` buckets: the reference's production 720 when the series allows it, else one round.

    More than 2 x 720 points: ``W = P = 720`` (one 30-day round of hourly buckets, the
    reference's 5760- and 2160-point inputs). Otherwise ``n // 3``: one round of the vault's
    three-round range. The rule depends on the point count only, whatever the bucket size,
    because the attested check recomputes the max return from the values alone
    (``docs/pricing.md``).
    """
    if n > 2 * REFERENCE_WINDOW:
        return REFERENCE_WINDOW
    return max(1, n // 3)


def max_return(values) -> MaxReturnResult:
    """``max_k M[k+P]/M[k] - 1`` with ``M[k] = mean(x[k:k+W])`` for k = 0..n-W-1.

    The windows exclude the current index (the final full window is never
    formed), and each window sum is accumulated left to right, so the result
    equals the reference bit for bit.
    """
    x = as_series(values)
    n = len(x)
    if n < MIN_POINTS:
        raise InsufficientData("max_return", MIN_POINTS, n)
    w = p = max_return_window(n)
    means = window_sums(x, w, n - w) / w
    returns = means[p:] / means[:-p] - 1.0
    return MaxReturnResult(value=float(np.max(returns)), window=w, period=p, n=n)
