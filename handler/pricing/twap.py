"""Time-weighted averages over bucket series (docs/pricing.md)."""

from __future__ import annotations

import numpy as np

from .errors import InvalidSeries


def as_series(values, *, name: str = "series") -> np.ndarray:
    """Values as a 1-D float64 array, checked positive and finite."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise InvalidSeries(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(x)):
        k = int(np.flatnonzero(~np.isfinite(x))[0])
        raise InvalidSeries(f"{name} has a non-finite value at index {k}")
    if np.any(x <= 0):
        k = int(np.flatnonzero(x <= 0)[0])
        raise InvalidSeries(f"{name} has a non-positive value {x[k]!r} at index {k}")
    return x


def sequential_sum(x: np.ndarray) -> float:
    """Left-to-right float64 sum, the reference's order.

    ``np.sum`` is pairwise and ``math.fsum`` exact; both differ from the
    reference in the last bits. ``np.add.accumulate`` is a sequential scan.
    """
    if len(x) == 0:
        return 0.0
    return float(np.add.accumulate(x)[-1])


def twap(values) -> float:
    """Mean of the bucket series, summed left to right, so it matches the reference bit for bit."""
    x = as_series(values)
    if len(x) == 0:
        raise InvalidSeries("TWAP of an empty series")
    return sequential_sum(x) / len(x)


def window_sums(x: np.ndarray, window: int, count: int) -> np.ndarray:
    """``s[k] = x[k] + x[k+1] + ... + x[k+window-1]`` for k < count, each summed left to right.

    Accumulating column by column over the shifted views adds the terms of every
    window in the same order as a from-scratch loop would (sliding or prefix-sum
    differences do not give the same bits).
    """
    acc = x[0:count].copy()
    for j in range(1, window):
        acc += x[j : j + count]
    return acc


def trailing_mean(values, window: int) -> np.ndarray:
    """``m[i] = mean(x[max(0, i-window+1)..i])``: the 7-day TWAP series, with partial
    windows at the start (min_periods 1)."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    n = len(x)
    out = np.empty(n)
    head = min(window - 1, n)
    if head > 0:
        out[:head] = np.add.accumulate(x[:head]) / np.arange(1, head + 1)
    full = n - head
    if full > 0:
        out[head:] = window_sums(x, window, full) / window
    return out
