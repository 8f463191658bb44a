"""Per-API-key rate limits that hold under concurrency, counted in Postgres.

A sliding log: every accepted call of a key leaves one row (offchain.RateLimitHit); a call
is accepted while fewer than `limit` rows of its key lie within the last `period`. The
check and the insert run under a per-key transaction-scoped advisory lock, so concurrent
calls of one key (on any web process) are counted one at a time, and no `period`-long
span ever holds more than `limit` accepted calls. A fixed window would let twice the
limit through around a window boundary; the database cache's incr is not atomic at all.
Refused calls leave no row, so hammering a key does not grow the table.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import connection, transaction
from rest_framework.throttling import BaseThrottle

from offchain.models import RateLimitHit

# First half of the advisory lock key pair; the pair space is distinct from the single
# bigint keys other modules lock.
_LOCK_CLASS = 0x0F10
# Rows older than this are never looked at again, whatever the configured period.
_LONGEST_PERIOD_SECONDS = 86400


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'60/min' -> (60, 60): calls and period seconds (the period's first letter counts)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[:1]]


def rate_limit_take(key: str, *, limit: int, period_seconds: int) -> float | None:
    """Counts one call for `key`; None if it is within the limit, else the seconds until
    the oldest counted call leaves the window (the call is then not counted)."""
    table = connection.ops.quote_name(RateLimitHit._meta.db_table)
    lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, lock_id])
        cursor.execute(
            f"DELETE FROM {table} WHERE at < clock_timestamp() - make_interval(secs => %s)",  # noqa: S608
            [_LONGEST_PERIOD_SECONDS],
        )
        cursor.execute(
            "SELECT count(*), extract(epoch FROM min(at) + make_interval(secs => %s) - clock_timestamp()) "
            f"FROM {table} WHERE key = %s AND at > clock_timestamp() - make_interval(secs => %s)",  # noqa: S608
            [period_seconds, key, period_seconds],
        )
        count, wait = cursor.fetchone()
        if count >= limit:
            return max(float(wait or 0), 0.0)
        cursor.execute(f"INSERT INTO {table} (key, at) VALUES (%s, clock_timestamp())", [key])  # noqa: S608
    return None


class ApiKeyRateThrottle(BaseThrottle):
    """Limits each API key per scope (API_RATE_LIMITS)."""

    scope = "read"

    def allow_request(self, request, view):
        limit, period = parse_rate(settings.API_RATE_LIMITS[self.scope])
        key = request.auth
        ident = f"key:{key.pk}" if getattr(key, "pk", None) is not None else f"ip:{self.get_ident(request)}"
        self.wait_seconds = rate_limit_take(f"{self.scope}:{ident}", limit=limit, period_seconds=period)
        return self.wait_seconds is None

    def wait(self):
        return self.wait_seconds


class SubmitRateThrottle(ApiKeyRateThrottle):
    scope = "submit"
