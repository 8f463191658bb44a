"""Whether block data can exist for a time range, decided when a request is submitted.

A range that ends in the future, starts before the earliest stored block, or ends after
the latest ingested block (plus BLOCK_DATA_MARGIN_SECONDS, the ingester's usual lag) can
have no data now; no retry of its jobs could fix that, so the request is refused at once
(400 naming the field) instead of being queued to fail later. With no block data at all
(a fresh deployment before its first ingest) only the clock check applies.
"""

from __future__ import annotations

import time

from django.conf import settings

from handler.pricing.series import bucket_seconds_for
from handler.selectors import block_time_bounds

# A client's clock may run a little ahead of ours.
CLOCK_SKEW_SECONDS = 300


def range_without_data(start: int, end: int, *, now: float | None = None) -> str | None:
    """Why [start, end) can have no block data now (one line, times as unix seconds), or None."""
    now = time.time() if now is None else now
    if end > now + CLOCK_SKEW_SECONDS:
        return f"ends in the future (at {end}; it is now {int(now)}): no block data exists for it yet"
    bounds = block_time_bounds()
    if bounds is None:
        return None
    first, last = bounds
    bucket = bucket_seconds_for(start, end)
    if start // bucket < first // bucket:
        return f"starts before the earliest block data (the first block is at {first})"
    if end > last + settings.BLOCK_DATA_MARGIN_SECONDS:
        return (
            f"ends after the latest ingested block data (the last block is at {last}); "
            "submit it again once the blocks up to its end are ingested"
        )
    return None
