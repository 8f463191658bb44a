from __future__ import annotations

import numpy as np
import pytest

from handler.pricing import InsufficientData, InvalidParameters, cap_level, cap_level_bps, volatility
from handler.pricing.volatility import volatility_windows


def naive_volatility(x, tw, vw):
    rolling = [sum(x[t - tw + 1 : t + 1]) / tw for t in range(tw - 1, len(x))]
    returns = [rolling[i] / rolling[i - tw] - 1 for i in range(tw, len(rolling))]
    return float(np.std(returns[-vw:], ddof=1))


def test_windows_follow_offchain_processor():
    assert volatility_windows(3600) == (720, 2160)
    assert volatility_windows(5760) == (720, 2160)
    assert volatility_windows(100) == (20, 60)
    assert volatility_windows(3) == (1, 3)


@pytest.mark.parametrize("n", [50, 333, 3600])
def test_volatility_matches_definition(n):
    x = np.exp(np.random.default_rng(n).normal(22, 0.3, n))
    tw, vw = volatility_windows(n)
    assert volatility(x) == pytest.approx(naive_volatility(x.tolist(), tw, vw), rel=1e-12)


def test_volatility_too_short():
    with pytest.raises(InsufficientData):
        volatility([1.0, 2.0])


def test_cap_level_formula_and_rejections():
    vol = 0.1
    assert cap_level(vol, 5000, 100) == pytest.approx((2.33 * 0.1 - 0.01) / (0.5 * 1.01))
    assert cap_level_bps(cap_level(vol, 5000, 100)) == int(cap_level(vol, 5000, 100) * 1e4)
    assert cap_level_bps(-0.5) == 0
    for alpha, k in [(0, 0), (10001, 0), (-5, 0), (5000, -10000)]:
        with pytest.raises(InvalidParameters):
            cap_level(vol, alpha, k)
