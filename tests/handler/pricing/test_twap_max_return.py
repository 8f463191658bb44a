from __future__ import annotations

import math

import numpy as np
import pytest
from pricing_helpers import left_to_right_sum

from handler.pricing import InsufficientData, max_return, trailing_mean, twap
from handler.pricing.twap import window_sums

EXPECTED_MAX_RETURN = 1.544626972559826


def reference_max_return(x: list[float], w: int, p: int) -> float:
    means = []
    for k in range(len(x) - w):
        s = 0.0
        for v in x[k : k + w]:
            s += v
        means.append(s / w)
    return max(means[k + p] / means[k] - 1 for k in range(len(means) - p))


def test_max_return_reference_vector_exact(max_return_input):
    result = max_return(max_return_input.values)
    assert result.value == EXPECTED_MAX_RETURN
    assert (result.window, result.period, result.n) == (720, 720, 5760)


def test_prefix_sums_would_not_match_bits(max_return_input):
    # Guards the design: a sliding/prefix-sum shortcut changes the last bits.
    x = max_return_input.values
    c = np.concatenate([[0.0], np.cumsum(x)])
    means = (c[720:5760] - c[: 5760 - 720]) / 720
    assert float(np.max(means[720:] / means[:-720] - 1)) != EXPECTED_MAX_RETURN


@pytest.mark.parametrize(
    "n, w",
    [
        (16, 5),
        (17, 5),
        (22, 7),
        (100, 33),
        (180, 60),
        (540, 180),
        (999, 333),
        (1440, 480),
        (1441, 720),
        (2160, 720),
        (4320, 720),
        (5761, 720),
    ],
)
def test_max_return_window_rule_bitwise(n, w):
    rng = np.random.default_rng(n)
    x = np.exp(rng.normal(22, 0.5, n))
    result = max_return(x)
    assert (result.window, result.period) == (w, w)
    if n <= 1000:
        assert result.value == reference_max_return(x.tolist(), w, w)


def test_max_return_hourly_90_days_uses_the_production_720(max_return_input):
    # The vault's reserve-price range of a 30-day round: the last 2160 hours.
    x = max_return_input.values[-2160:]
    result = max_return(x)
    assert (result.window, result.period) == (720, 720)
    assert result.value == reference_max_return(x.tolist(), 720, 720)


def test_max_return_insufficient_data_says_how_many():
    with pytest.raises(InsufficientData, match="at least 16 points, got 15"):
        max_return(np.ones(15))


def test_twap_is_left_to_right_mean(dataset_a):
    x = dataset_a.values
    assert twap(x) == left_to_right_sum(x) / len(x)
    # np.mean/fsum give a different last digit on this series: the order matters.
    assert twap(x) != math.fsum(x) / len(x)


def test_window_sums_match_from_scratch_sums():
    rng = np.random.default_rng(1)
    x = rng.uniform(1e9, 7e10, 300)
    sums = window_sums(x, 37, 300 - 36)
    assert sums.tolist() == [left_to_right_sum(x[k : k + 37]) for k in range(300 - 36)]


def test_trailing_mean_partial_then_full_windows():
    rng = np.random.default_rng(2)
    x = rng.uniform(1, 10, 400)
    got = trailing_mean(x, 168)
    want = [left_to_right_sum(x[max(0, i - 167) : i + 1]) / (i - max(0, i - 167) + 1) for i in range(400)]
    assert got.tolist() == want


@pytest.mark.parametrize("bad", [[1.0, 0.0, 2.0], [1.0, -3.0], [1.0, float("nan")]])
def test_non_positive_or_non_finite_values_rejected(bad):
    from handler.pricing import InvalidSeries

    with pytest.raises(InvalidSeries):
        twap(bad)
