"""Volatility and cap level as the reference offchain processor computes them (docs/pricing.md)."""

from __future__ import annotations

import math

import numpy as np

from .errors import InsufficientData, InvalidParameters
from .twap import as_series, window_sums

MAX_TWAP_WINDOW = 720
VOLATILITY_Z = 2.33  # one-sided 99 % quantile used by the reference
BPS = 10_000


def volatility_windows(n: int) -> tuple[int, int]:
    """``twap_window = clamp(floor(0.2 n), 1, 720)``, ``vol_window = 3 * twap_window``."""
    twap_window = min(max(int(0.2 * n), 1), MAX_TWAP_WINDOW)
    return twap_window, 3 * twap_window


def volatility(values, *, twap_window: int | None = None, vol_window: int | None = None) -> float:
    """Sample standard deviation of the last ``vol_window`` returns of the rolling TWAP.

    Rolling mean over full windows only (the first ``twap_window - 1`` rows are
    dropped), ``ret_t = TWAP_t / TWAP_{t - twap_window} - 1``; at least two
    returns are needed.
    """
    x = as_series(values)
    n = len(x)
    default_tw, default_vw = volatility_windows(n)
    tw = default_tw if twap_window is None else int(twap_window)
    vw = default_vw if vol_window is None else int(vol_window)
    if tw < 1 or vw < 2:
        raise InvalidParameters("twap_window must be >= 1 and vol_window >= 2")
    needed = 2 * tw + 1  # two returns
    if n < needed:
        raise InsufficientData("volatility", needed, n)
    rolling = window_sums(x, tw, n - tw + 1) / tw
    returns = rolling[tw:] / rolling[:-tw] - 1.0
    tail = returns[-vw:]
    return float(np.std(tail, ddof=1))


def cap_level(volatility: float, alpha_bps: float, k_bps: float) -> float:
    """``cl = (2.33 vol - k) / (alpha (1 + k))`` with alpha, k given in basis points.

    Rejects what the reference rejects: ``alpha_bps`` of 0 or above 10000, and
    ``k_bps <= -10000`` (also negative alpha, which the reference's unsigned
    type cannot carry).
    """
    if not math.isfinite(volatility):
        raise InvalidParameters("volatility must be finite")
    if not (0 < alpha_bps <= BPS):
        raise InvalidParameters(f"alpha_bps must be in (0, 10000], got {alpha_bps}")
    if k_bps <= -BPS:
        raise InvalidParameters(f"k_bps must be > -10000, got {k_bps}")
    alpha = alpha_bps / BPS
    k = k_bps / BPS
    return (VOLATILITY_Z * volatility - k) / (alpha * (1.0 + k))


def cap_level_bps(level: float) -> int:
    """The on-chain form: ``(cl * 1e4) as u128`` truncates and saturates negatives to 0."""
    v = level * BPS
    if not math.isfinite(v) or v <= 0:
        return 0
    return int(v)
