"""Read-side queries over block data, from whichever source the settings select
(settings.BLOCK_SOURCE: "fossil", our verified table, or "indexer", an existing Fossil
indexer database through the read-only DATABASES["indexer"] connection)."""

from __future__ import annotations

from handler.chain.sources import BlockBounds, get_block_source

__all__ = [
    "BlockBounds",
    "block_base_fees",
    "block_range_bounds",
    "block_time_bounds",
    "bucket_averages",
    "hourly_felts",
]


def bucket_averages(start: int, end: int, bucket_seconds: int) -> list[tuple[int, float, int]]:
    """Per-bucket base fee averages: [(bucket_start_unix, avg_base_fee_wei, block_count)].

    Covers blocks with start <= timestamp < end; buckets are UTC-aligned
    (floor(ts / bucket_seconds) * bucket_seconds) and ordered; a bucket without blocks
    is absent (gap checks are the caller's). One SQL query on the timestamp index; the
    average is Postgres' exact numeric AVG cast once to float64.
    """
    return get_block_source().bucket_averages(start, end, bucket_seconds)


def block_range_bounds() -> BlockBounds | None:
    """First/last block number and timestamp and the block count, or None if no blocks."""
    return get_block_source().bounds()


def block_time_bounds() -> tuple[int, int] | None:
    """(first, last) block timestamp, or None if there are no blocks (two index probes)."""
    return get_block_source().time_bounds()


def block_base_fees(start: int, end: int) -> list[tuple[int, int, int]]:
    """[(number, timestamp, base_fee_wei)] for start <= timestamp < end (small ranges only)."""
    return get_block_source().base_fees(start, end)


def hourly_felts(start: int, end: int) -> list[tuple[int, int]]:
    """[(hour_start, felt)] for the hours in [start, end) that have blocks: each hour's mean base
    fee ``sum / count`` as an exact UFixedPoint123x128 felt (``pricing.vault.hourly_felt``), the
    values a vault round hashes and prices."""
    from handler.pricing.vault import hourly_felt

    return [(b, hourly_felt(total, n)) for b, total, n in get_block_source().bucket_fee_sums(start, end, 3600)]
