"""Errors raised by the pricing engine.

Every error is a ``PricingError`` so callers (the Celery handler, the ``price``
command) can catch the family in one place; the message is one line meant for
a human operator.
"""

from __future__ import annotations

from datetime import UTC, datetime


class PricingError(ValueError):
    """Base class: the request cannot be priced as given."""


class InvalidSeries(PricingError):
    """The input series is malformed (non-positive or non-finite fee, unsorted timestamps...)."""


class InvalidParameters(PricingError):
    """A parameter is outside the domain the model or the reference accepts."""


class InsufficientData(PricingError):
    """The series is too short for the metric."""

    def __init__(self, metric: str, needed: int, got: int) -> None:
        self.metric = metric
        self.needed = needed
        self.got = got
        super().__init__(f"{metric} needs at least {needed} points, got {got}")


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MissingBucket(PricingError):
    """A bucket in the requested range has no data; gaps are never filled silently."""

    def __init__(self, bucket_start: int, bucket_seconds: int, missing_count: int = 1) -> None:
        self.bucket_start = int(bucket_start)
        self.bucket_seconds = int(bucket_seconds)
        self.missing_count = int(missing_count)
        more = f" ({missing_count} missing in total)" if missing_count > 1 else ""
        super().__init__(
            f"missing bucket {_iso(self.bucket_start)} (unix {self.bucket_start}, {self.bucket_seconds}s buckets){more}"
        )
