from __future__ import annotations

import numpy as np
import pytest

from handler.pricing import (
    InvalidSeries,
    MissingBucket,
    bucket_seconds_for,
    bucketize,
    check_contiguous,
    expected_bucket_starts,
)

DAY = 86400
T0 = 1_700_000_000 - (1_700_000_000 % 3600)  # an hour boundary


def test_bucket_size_switches_at_seven_days_and_one_hour():
    assert bucket_seconds_for(T0, T0 + 7 * DAY) == 3600
    assert bucket_seconds_for(T0, T0 + 7 * DAY - 1) == 60
    assert bucket_seconds_for(T0, T0 + 3600) == 60
    assert bucket_seconds_for(T0, T0 + 3599) == 12
    assert bucket_seconds_for(T0, T0 + 270) == 12  # a 1.5-minute round's three-round range
    with pytest.raises(InvalidSeries):
        bucket_seconds_for(T0, T0)


@pytest.mark.parametrize("start, end", [(T0 * 1000, T0 * 1000 + 3600_000), (-5, 100)])
def test_range_in_milliseconds_or_negative_is_rejected(start, end):
    with pytest.raises(InvalidSeries, match="not unix seconds"):
        bucket_seconds_for(start, end)


def test_minimum_ranges_give_enough_block_buckets():
    from handler.pricing.max_return import MIN_POINTS as MR_MIN
    from handler.pricing.reserve_price import MIN_POINTS as RP_MIN
    from handler.pricing.series import MIN_RANGE_SECONDS

    assert MIN_RANGE_SECONDS == {"twap": 12, "max_return": 192, "reserve_price": 192}
    for offset in range(12):  # whatever the phase of the range against the 12 s grid
        start = T0 + offset
        assert len(expected_bucket_starts(start, start + 192, 12)) >= max(MR_MIN, RP_MIN)
        assert len(expected_bucket_starts(start, start + 12, 12)) >= 1


def test_block_buckets_skip_missed_slots_but_not_an_empty_range():
    start, end = T0, T0 + 120  # 10 slots
    ts = [T0 + 12 * k for k in range(10) if k != 4]  # slot 4 missed
    series = bucketize(ts, [100 + k for k in range(9)], start, end)
    assert series.bucket_seconds == 12 and len(series) == 9 and T0 + 48 not in series.timestamps.tolist()
    rows = check_contiguous(ts, [1.0] * 9, start, end)
    assert len(rows) == 9
    with pytest.raises(MissingBucket):
        bucketize([], [], start, end)
    with pytest.raises(MissingBucket):
        check_contiguous([], [], start, end)


def test_check_contiguous_rejects_a_spacing_the_range_does_not_imply():
    with pytest.raises(InvalidSeries, match="60s buckets for a 180s range, which implies 12s"):
        check_contiguous([T0, T0 + 60, T0 + 120], [1.0, 1.0, 1.0], T0, T0 + 180, 60)


def test_expected_buckets_are_utc_aligned_and_cover_half_open_range():
    starts = expected_bucket_starts(T0 + 10, T0 + 3 * 3600, 3600)
    assert starts.tolist() == [T0, T0 + 3600, T0 + 7200]
    starts = expected_bucket_starts(T0 + 10, T0 + 3 * 3600 + 1, 3600)
    assert starts.tolist() == [T0, T0 + 3600, T0 + 7200, T0 + 10800]


def test_bucketize_averages_blocks_per_minute_and_ignores_out_of_range():
    start, end = T0, T0 + 180
    ts = [T0 - 12, T0, T0 + 12, T0 + 60, T0 + 130, T0 + 179, T0 + 180]
    fees = [999, 10, 21, 7, 1, 2, 999]
    series = bucketize(ts, fees, start, end, bucket_seconds=60)
    assert series.bucket_seconds == 60
    assert series.timestamps.tolist() == [T0, T0 + 60, T0 + 120]
    assert series.values.tolist() == [15.5, 7.0, 1.5]
    assert series.values.dtype == np.float64


def test_bucketize_integer_mean_is_exact_for_large_wei():
    big = 2**60 + 1
    series = bucketize([T0, T0 + 1, T0 + 2], [big, big, big + 1], T0, T0 + 60)
    assert series.values[0] == (3 * big + 1) / 3


def test_bucketize_hourly_over_seven_days():
    start, end = T0, T0 + 7 * DAY
    ts = np.arange(start, end, 12)
    series = bucketize(ts, np.full(len(ts), 5.0), start, end)
    assert series.bucket_seconds == 3600 and len(series) == 168
    assert np.all(series.values == 5.0)


def test_bucketize_names_first_missing_bucket():
    ts = [T0, T0 + 60, T0 + 300]
    with pytest.raises(MissingBucket) as info:
        bucketize(ts, [1, 1, 1], T0, T0 + 360, bucket_seconds=60)
    err = info.value
    assert err.bucket_start == T0 + 120 and err.missing_count == 3
    assert str(T0 + 120) in str(err) and "2023-11-14T22:02:00Z" in str(err)


def test_bucketize_rejects_negative_fee():
    with pytest.raises(InvalidSeries):
        bucketize([T0], [-1], T0, T0 + 60)


HOUR_OF_MINUTES = [T0 + 60 * k for k in range(60)]


def test_check_contiguous_accepts_pre_aggregated_rows():
    values = [float(k + 1) for k in range(60)]
    series = check_contiguous(HOUR_OF_MINUTES, values, T0, T0 + 3600)
    assert series.values.tolist() == values and series.bucket_seconds == 60


def _without(k):
    return [t for t in HOUR_OF_MINUTES if t != T0 + 60 * k]


@pytest.mark.parametrize(
    "ts, values, first_missing",
    [
        (_without(1), [1.0] * 59, T0 + 60),
        (_without(0), [1.0] * 59, T0),
        (_without(59), [1.0] * 59, T0 + 59 * 60),
        (HOUR_OF_MINUTES, [1.0, None] + [3.0] * 58, T0 + 60),
        (HOUR_OF_MINUTES, [1.0, float("nan")] + [3.0] * 58, T0 + 60),
    ],
)
def test_check_contiguous_reports_first_missing(ts, values, first_missing):
    with pytest.raises(MissingBucket) as info:
        check_contiguous(ts, values, T0, T0 + 3600)
    assert info.value.bucket_start == first_missing


@pytest.mark.parametrize("ts", [[T0, T0, T0 + 60], [T0, T0 + 30, T0 + 60], [T0, T0 + 60, T0 + 3600]])
def test_check_contiguous_rejects_duplicates_and_strays(ts):
    with pytest.raises(InvalidSeries):
        check_contiguous(ts + HOUR_OF_MINUTES[3:], [1.0] * (len(ts) + 57), T0, T0 + 3600)


def test_empty_partial_edge_buckets_are_left_out_not_inner_ones():
    # a range starting 30 s into a minute and ending 5 s into one: both edge buckets are partial
    start, end = T0 + 30, T0 + 3660 + 5
    ts = [T0 + 60 * k + 7 for k in range(1, 61)]  # no block in [start, T0+60) nor in [T0+3660, end)
    series = bucketize(ts, [1.0] * len(ts), start, end)
    assert series.bucket_seconds == 60 and series.timestamps.tolist() == [T0 + 60 * k for k in range(1, 61)]
    rows = check_contiguous([T0 + 60 * k for k in range(1, 61)], [1.0] * 60, start, end)
    assert len(rows) == 60
    with pytest.raises(MissingBucket) as info:  # an inner bucket is still required
        check_contiguous([T0 + 60 * k for k in range(1, 61) if k != 30], [1.0] * 59, start, end)
    assert info.value.bucket_start == T0 + 1800
    with pytest.raises(MissingBucket):  # an aligned edge bucket is whole, hence required
        check_contiguous(HOUR_OF_MINUTES[1:], [1.0] * 59, T0, T0 + 3600)


def test_a_range_off_the_bucket_grid_labels_its_first_bucket_by_the_range_start():
    """No series timestamp lies before its range (the attested window check relies on it)."""
    start, end = T0 + 30, T0 + 7230  # 2 hours, starting 30 s into a minute
    ts = [T0 + 6 * k for k in range(1, 1210)]
    series = bucketize(ts, [1.0] * len(ts), start, end)
    assert series.timestamps[0] == start and series.timestamps[1] == T0 + 60
    rows = check_contiguous([T0 + 60 * k for k in range(121)], [1.0] * 121, start, end)
    assert rows.timestamps[0] == start and rows.timestamps.min() >= start and rows.timestamps.max() < end


def test_off_grid_range_passes_the_attested_window_check(settings):
    from handler import pricing
    from handler.proofs import checks
    from handler.proofs.records import ProofInputs

    start, end = T0 + 30, T0 + 7230
    values = [1e9 + k for k in range(121)]
    series = check_contiguous([T0 + 60 * k for k in range(121)], values, start, end)
    commitment = pricing.data_commitment([pricing.float_to_felt(v) for v in series.values])
    checks.check_commitment(
        ProofInputs(
            job_id="1",
            metric="twap",
            window_start=start,
            window_end=end,
            value=pricing.twap(series.values),
            data_commitment=tuple(commitment),
            series_timestamps=tuple(int(t) for t in series.timestamps),
            series_values=tuple(float(v) for v in series.values),
        )
    )
