from __future__ import annotations

import numpy as np
import pytest

from handler.pricing import (InvalidSeries, MissingBucket, bucket_seconds_for, bucketize, check_contiguous,
                             expected_bucket_starts)

DAY = 86400
T0 = 1_700_000_000 - (1_700_000_000 % 3600)  # an hour boundary


def test_bucket_size_switches_at_seven_days():
    assert bucket_seconds_for(T0, T0 + 7 * DAY) == 3600
    assert bucket_seconds_for(T0, T0 + 7 * DAY - 1) == 60
    with pytest.raises(InvalidSeries):
        bucket_seconds_for(T0, T0)


def test_expected_buckets_are_utc_aligned_and_cover_half_open_range():
    starts = expected_bucket_starts(T0 + 10, T0 + 3 * 3600, 3600)
    assert starts.tolist() == [T0, T0 + 3600, T0 + 7200]
    starts = expected_bucket_starts(T0 + 10, T0 + 3 * 3600 + 1, 3600)
    assert starts.tolist() == [T0, T0 + 3600, T0 + 7200, T0 + 10800]


def test_bucketize_averages_blocks_per_minute_and_ignores_out_of_range():
    start, end = T0, T0 + 180
    ts = [T0 - 12, T0, T0 + 12, T0 + 60, T0 + 130, T0 + 179, T0 + 180]
    fees = [999, 10, 21, 7, 1, 2, 999]
    series = bucketize(ts, fees, start, end)
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
        bucketize(ts, [1, 1, 1], T0, T0 + 360)
    err = info.value
    assert err.bucket_start == T0 + 120 and err.missing_count == 3
    assert str(T0 + 120) in str(err) and "2023-11-14T22:02:00Z" in str(err)


def test_bucketize_rejects_negative_fee():
    with pytest.raises(InvalidSeries):
        bucketize([T0], [-1], T0, T0 + 60)


def test_check_contiguous_accepts_pre_aggregated_rows():
    ts = [T0, T0 + 60, T0 + 120]
    series = check_contiguous(ts, [1.0, 2.0, 3.0], T0, T0 + 180)
    assert series.values.tolist() == [1.0, 2.0, 3.0] and series.bucket_seconds == 60


@pytest.mark.parametrize("ts, values, first_missing", [
    ([T0, T0 + 120], [1.0, 3.0], T0 + 60),
    ([T0 + 60, T0 + 120], [1.0, 3.0], T0),
    ([T0, T0 + 60], [1.0, 3.0], T0 + 120),
    ([T0, T0 + 60, T0 + 120], [1.0, None, 3.0], T0 + 60),
    ([T0, T0 + 60, T0 + 120], [1.0, float("nan"), 3.0], T0 + 60),
])
def test_check_contiguous_reports_first_missing(ts, values, first_missing):
    with pytest.raises(MissingBucket) as info:
        check_contiguous(ts, values, T0, T0 + 180)
    assert info.value.bucket_start == first_missing


@pytest.mark.parametrize("ts", [[T0, T0, T0 + 60], [T0, T0 + 30, T0 + 60], [T0, T0 + 60, T0 + 180]])
def test_check_contiguous_rejects_duplicates_and_strays(ts):
    with pytest.raises(InvalidSeries):
        check_contiguous(ts, [1.0, 1.0, 1.0], T0, T0 + 180)
