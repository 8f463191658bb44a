"""Reading a bucket series from CSV for the ``price`` command.

Columns ``timestamp,base_fee``, one row per bucket, strictly increasing unix-second
timestamps at a constant spacing (the bucket size, taken as the smallest gap), which
must be the bucket size the range implies (``series.bucket_seconds_for`` of the first
bucket's start to the last bucket's end): a series in milliseconds, or minute buckets
over a range that is priced hourly, is refused rather than priced on the wrong clock.
``base_fee`` is decimal wei or a ``0x`` UFixedPoint123x128 felt; felts enter the
data commitment exactly as given, decimals as ``float_to_felt`` of their value.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InvalidSeries, MissingBucket, PricingError
from .felts import felt_to_float, float_to_felt, parse_felt
from .series import BLOCK, MAX_UNIX_SECONDS, bucket_seconds_for

COLUMNS = ("timestamp", "base_fee")


@dataclass(frozen=True)
class CsvSeries:
    timestamps: np.ndarray  # int64
    values: np.ndarray  # float64 wei
    felts: list[int]
    bucket_seconds: int


def _parse_fee(text: str, line: int) -> tuple[float, int]:
    t = text.strip()
    if t.lower().startswith("0x"):
        try:
            felt = parse_felt(t)
        except PricingError as exc:
            raise InvalidSeries(f"line {line}: {exc}") from None
        value = felt_to_float(felt)
        if felt == 0:
            raise InvalidSeries(f"line {line}: non-positive base_fee {t}")
        return value, felt
    try:
        value = float(t)
    except ValueError:
        raise InvalidSeries(f"line {line}: base_fee {t!r} is neither decimal wei nor a 0x felt") from None
    if math.isnan(value) or math.isinf(value):
        raise InvalidSeries(f"line {line}: base_fee {t!r} is not finite")
    if value <= 0:
        raise InvalidSeries(f"line {line}: non-positive base_fee {t}")
    try:
        felt = float_to_felt(value)
    except PricingError as exc:
        raise InvalidSeries(f"line {line}: {exc}") from None
    return value, felt


def _parse_timestamp(text: str, line: int) -> int:
    value = _parse_integer_timestamp(text, line)
    if not 0 <= value < MAX_UNIX_SECONDS:
        hint = " (milliseconds?)" if value >= MAX_UNIX_SECONDS else ""
        raise InvalidSeries(f"line {line}: timestamp {value} is not unix seconds{hint}")
    return value


def _parse_integer_timestamp(text: str, line: int) -> int:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        f = float(t)
    except ValueError:
        raise InvalidSeries(f"line {line}: timestamp {t!r} is not unix seconds") from None
    if not math.isfinite(f) or f != int(f):
        raise InvalidSeries(f"line {line}: timestamp {t!r} is not a whole number of unix seconds")
    return int(f)


def read_series_csv(path: str | Path, *, range_spacing: bool = True) -> CsvSeries:
    """The series in ``path``; ``range_spacing=False`` skips the range-implies-spacing rule
    (the backtest slides over long fine-grained series and buckets each window itself)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidSeries(f"series file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSeries(f"cannot read {p}: {exc}") from None
    rows = list(csv.reader(text.splitlines()))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise InvalidSeries(f"{p} is empty; expected columns timestamp,base_fee")
    header = [h.strip().lower() for h in rows[0]]
    if sorted(header) != sorted(COLUMNS):
        raise InvalidSeries(f"{p}: expected columns timestamp,base_fee, got {','.join(rows[0])}")
    ts_col, fee_col = header.index("timestamp"), header.index("base_fee")
    timestamps: list[int] = []
    values: list[float] = []
    felts: list[int] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            raise InvalidSeries(f"line {line}: empty row")
        if len(row) != 2:
            raise InvalidSeries(f"line {line}: expected 2 fields, got {len(row)}")
        timestamps.append(_parse_timestamp(row[ts_col], line))
        value, felt = _parse_fee(row[fee_col], line)
        values.append(value)
        felts.append(felt)
    if not values:
        raise InvalidSeries(f"{p} has a header but no rows")
    ts = np.asarray(timestamps, dtype=np.int64)
    bucket = _check_spacing(ts, range_spacing)
    return CsvSeries(timestamps=ts, values=np.asarray(values, dtype=np.float64), felts=felts, bucket_seconds=bucket)


def _check_spacing(ts: np.ndarray, range_spacing: bool = True) -> int:
    if len(ts) < 2:
        return 3600
    gaps = np.diff(ts)
    if np.any(gaps <= 0):
        k = int(np.flatnonzero(gaps <= 0)[0])
        raise InvalidSeries(f"timestamps not strictly increasing at line {k + 3} ({int(ts[k + 1])} after {int(ts[k])})")
    bucket = int(gaps.min())
    implied = bucket_seconds_for(int(ts[0]), int(ts[-1]) + bucket)
    if range_spacing and bucket != implied:
        raise InvalidSeries(
            f"bucket spacing {bucket}s, but a range of {_span(int(ts[-1]) + bucket - int(ts[0]))} "
            f"is priced on {implied}s buckets (hourly from 7 days, minutes from 1 hour, "
            f"12 s blocks below)"
        )
    irregular = np.flatnonzero(gaps != bucket)
    if bucket == BLOCK:
        irregular = np.flatnonzero(gaps % bucket != 0)  # missed slots: one row per block
    if len(irregular):
        k = int(irregular[0])
        if gaps[k] % bucket:
            raise InvalidSeries(
                f"irregular bucket spacing at line {k + 3}: {int(gaps[k])}s after {int(ts[k])}, buckets are {bucket}s"
            )
        missing = int(((gaps[irregular] // bucket) - 1).sum())
        raise MissingBucket(int(ts[k]) + bucket, bucket, missing)
    return bucket


def _span(seconds: int) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:g} hours"
    return f"{seconds} s"
