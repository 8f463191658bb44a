"""Per-block rows to a contiguous series of UTC bucket averages.

Semantics shared with the SQL aggregation in the handler:

* a metric's range is the half-open interval ``[start, end)`` in unix seconds;
* ``bucket_seconds = 3600`` when ``end - start >= 7 days`` (the reference's hourly
  series), ``60`` when the range holds at least an hour (60 minute buckets; the
  reference offchain processor switches to minutes for testnet-length vaults), else
  ``12``, one Ethereum slot: a block bucket (``docs/pricing.md``, "Buckets");
* a range must be at least ``MIN_RANGE_SECONDS[metric]`` long (16 block buckets for
  max return and reserve price, one block for the TWAP);
* buckets are UTC-aligned: the first starts at ``floor(start/b)*b``, the last at
  ``floor((end-1)/b)*b``;
* a bucket's value is the arithmetic mean of the base fees of the blocks with
  ``start <= ts < end`` that fall in it, in wei, as float64;
* a bucket without blocks is an error naming it: gaps are never skipped or
  zero-filled (the reference implementations disagree on gaps, and both of
  their behaviours silently change the prices). Block buckets are the exception:
  a slot without a block (a missed slot, about 1 % on mainnet) carries no base
  fee, so the series is simply one value per block; an empty block bucket is left
  out, and only a range with no block at all is an error. Likewise an empty bucket
  at either edge that lies only partly inside the range (a range that does not
  start or end on a bucket boundary, e.g. a vault's settlement time) is left out:
  the few seconds of it the range covers may simply hold no block;
* a bucket is labelled by the start of its part inside the range: the first bucket
  of a range that does not start on a bucket boundary is labelled ``start`` (its
  average covers ``[start, next boundary)``), so no timestamp of a series lies
  before the range it was computed for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InvalidSeries, MissingBucket

HOUR = 3600
MINUTE = 60
BLOCK = 12  # one Ethereum slot
SEVEN_DAYS = 7 * 86400
MINUTE_BUCKETS_FROM = 3600  # fewer than 60 minute buckets: use block buckets
MIN_SERIES_POINTS = 16  # max return and reserve price (their modules' MIN_POINTS)
MIN_RANGE_SECONDS = {"twap": BLOCK, "max_return": MIN_SERIES_POINTS * BLOCK, "reserve_price": MIN_SERIES_POINTS * BLOCK}
MAX_UNIX_SECONDS = 10**10  # year 2286: anything larger is milliseconds or worse


@dataclass(frozen=True)
class BucketSeries:
    timestamps: np.ndarray  # int64 bucket starts, unix seconds
    values: np.ndarray  # float64 mean base fee per bucket, wei
    bucket_seconds: int

    def __len__(self) -> int:
        return len(self.values)


def check_unix_seconds(*timestamps: int) -> None:
    """Reject timestamps that cannot be unix seconds (milliseconds, microseconds, negatives)."""
    for t in timestamps:
        if not 0 <= int(t) < MAX_UNIX_SECONDS:
            hint = " (milliseconds?)" if int(t) >= MAX_UNIX_SECONDS else ""
            raise InvalidSeries(f"timestamp {int(t)} is not unix seconds{hint}")


def bucket_seconds_for(start: int, end: int) -> int:
    """The bucket size the range implies: 3600 from 7 days, 60 from one hour, else 12 (one block)."""
    check_unix_seconds(start, end)
    if end <= start:
        raise InvalidSeries(f"empty range: start {start} >= end {end}")
    span = end - start
    if span >= SEVEN_DAYS:
        return HOUR
    return MINUTE if span >= MINUTE_BUCKETS_FROM else BLOCK


def min_range_seconds(metric: str) -> int:
    """The shortest range a metric can be computed on (``twap``, ``max_return``, ``reserve_price``)."""
    return MIN_RANGE_SECONDS[metric]


def expected_bucket_starts(start: int, end: int, bucket_seconds: int) -> np.ndarray:
    if end <= start:
        raise InvalidSeries(f"empty range: start {start} >= end {end}")
    b = int(bucket_seconds)
    first = (int(start) // b) * b
    last = ((int(end) - 1) // b) * b
    return np.arange(first, last + b, b, dtype=np.int64)


def partial_edges(starts: np.ndarray, start: int, end: int, bucket_seconds: int) -> np.ndarray:
    """Which expected buckets lie only partly inside ``[start, end)`` (at most the first and the last)."""
    partial = np.zeros(len(starts), dtype=bool)
    if len(starts):
        partial[0] |= int(starts[0]) < int(start)
        partial[-1] |= int(starts[-1]) + int(bucket_seconds) > int(end)
    return partial


def _bucket_means(bucket_idx: np.ndarray, fees: np.ndarray, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(bucket_idx, minlength=n_buckets)
    means = np.full(n_buckets, np.nan)
    if fees.dtype.kind in "iuO":
        # Integer wei: sum exactly, then one correctly rounded division, so the
        # mean does not depend on the order the database returned the blocks.
        exact_sums = [0] * n_buckets
        for i, f in zip(bucket_idx.tolist(), fees.tolist()):
            exact_sums[i] += int(f)
        for i in np.flatnonzero(counts).tolist():
            means[i] = exact_sums[i] / int(counts[i])
    else:
        order = np.argsort(bucket_idx, kind="stable")
        sums = np.bincount(bucket_idx[order], weights=fees[order], minlength=n_buckets)
        nz = counts > 0
        means[nz] = sums[nz] / counts[nz]
    return counts, means


def bucketize(
    timestamps: Sequence[int] | np.ndarray,
    fees: Sequence[float] | np.ndarray,
    start: int,
    end: int,
    bucket_seconds: int | None = None,
) -> BucketSeries:
    """Average per-block ``(timestamp, base_fee_wei)`` rows into contiguous UTC buckets.

    Blocks outside ``[start, end)`` are ignored. Raises ``MissingBucket`` for the
    first bucket of the range that has no block, ``InvalidSeries`` for negative or
    non-finite fees.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    fee_arr = np.asarray(fees)
    if fee_arr.dtype.kind not in "iuOf":
        fee_arr = fee_arr.astype(np.float64)
    if ts.shape != fee_arr.shape or ts.ndim != 1:
        raise InvalidSeries("timestamps and fees must be 1-D and of equal length")
    b = bucket_seconds_for(start, end) if bucket_seconds is None else int(bucket_seconds)
    starts = expected_bucket_starts(start, end, b)
    in_range = (ts >= start) & (ts < end)
    ts = ts[in_range]
    fee_arr = fee_arr[in_range]
    if fee_arr.dtype.kind == "f":
        if not np.all(np.isfinite(fee_arr)) or np.any(fee_arr < 0):
            raise InvalidSeries("base fees must be finite and non-negative")
    elif any(int(f) < 0 for f in fee_arr.tolist()):
        raise InvalidSeries("base fees must be non-negative")
    idx = (ts - starts[0]) // b
    counts, means = _bucket_means(idx, fee_arr, len(starts))
    optional = partial_edges(starts, start, end, b) | (b == BLOCK)
    empty = np.flatnonzero((counts == 0) & ~optional)
    if not len(empty) and np.any(counts > 0):
        keep = counts > 0
        return BucketSeries(timestamps=np.maximum(starts[keep], int(start)), values=means[keep], bucket_seconds=b)
    if not len(empty):
        empty = np.flatnonzero(counts == 0)
    if len(empty):
        raise MissingBucket(int(starts[empty[0]]), b, len(empty))
    return BucketSeries(timestamps=np.maximum(starts, int(start)), values=means, bucket_seconds=b)


def check_contiguous(
    timestamps: Sequence[int] | np.ndarray,
    values: Sequence[float | None] | np.ndarray,
    start: int,
    end: int,
    bucket_seconds: int | None = None,
) -> BucketSeries:
    """Check pre-aggregated buckets (e.g. from SQL) cover ``[start, end)`` exactly.

    ``timestamps`` are bucket starts; ``values`` their averages (a NULL/NaN
    average counts as a missing bucket). ``bucket_seconds`` defaults to
    ``bucket_seconds_for(start, end)``. Raises ``MissingBucket`` naming the first
    missing bucket, ``InvalidSeries`` for duplicates, unaligned or out-of-range
    buckets. Returns the series as a ``BucketSeries``.
    """
    b = int(bucket_seconds) if bucket_seconds is not None else bucket_seconds_for(start, end)
    check_unix_seconds(start, end)
    if b != bucket_seconds_for(start, end):
        raise InvalidSeries(
            f"{b}s buckets for a {end - start}s range, which implies {bucket_seconds_for(start, end)}s buckets"
        )
    expected = expected_bucket_starts(start, end, b)
    ts = np.asarray(timestamps, dtype=np.int64)
    vals = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    if ts.ndim != 1 or ts.shape != vals.shape:
        raise InvalidSeries("timestamps and values must be 1-D and of equal length")
    if len(ts) > 1 and np.any(np.diff(ts) <= 0):
        k = int(np.flatnonzero(np.diff(ts) <= 0)[0])
        raise InvalidSeries(f"bucket timestamps not strictly increasing at row {k + 1} ({int(ts[k + 1])})")
    stray = ~np.isin(ts, expected)
    if np.any(stray):
        raise InvalidSeries(f"bucket {int(ts[stray][0])} is not a {b}s bucket start inside [{start}, {end})")
    present = np.isin(expected, ts[np.isfinite(vals)])
    # missed slots in block buckets, and empty partial edge buckets, are left out (module docstring)
    optional = partial_edges(expected, start, end, b) | (b == BLOCK)
    missing = expected[~present & ~optional]
    if len(missing) or not np.any(present):
        missing = missing if len(missing) else expected[~present]
        raise MissingBucket(int(missing[0]), b, len(missing))
    keep = np.isfinite(vals)
    ts, vals = ts[keep], vals[keep]
    if np.any(vals <= 0):
        k = int(np.flatnonzero(vals <= 0)[0])
        raise InvalidSeries(f"non-positive average base fee {vals[k]!r} in bucket {int(ts[k])}")
    return BucketSeries(timestamps=np.maximum(ts, int(start)), values=vals, bucket_seconds=b)
