"""The per-key limit holds under concurrent clients (a real threaded server, real Postgres)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from offchain.throttling import parse_rate, rate_limit_take
from tests.conftest import EXAMPLE_REQUEST
from tests.security.conftest import stored_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_parse_rate():
    assert parse_rate("60/min") == (60, 60) and parse_rate("5/s") == (5, 1) and parse_rate("2/hour") == (2, 3600)


def test_one_key_is_counted_alone_and_refused_calls_are_not_counted():
    assert [rate_limit_take("t:a", limit=2, period_seconds=60) for _ in range(2)] == [None, None]
    wait = rate_limit_take("t:a", limit=2, period_seconds=60)
    assert wait is not None and 55 < wait <= 60
    assert rate_limit_take("t:b", limit=2, period_seconds=60) is None
    from offchain.models import RateLimitHit

    assert RateLimitHit.objects.filter(key="t:a").count() == 2


def test_100_concurrent_submits_against_60_per_minute(live_server, api_key, settings, sqs_queues):
    settings.API_RATE_LIMITS = {"submit": "60/min", "read": "600/min"}
    settings.PROVING_SERVICE_URL = live_server.url

    def submit(_):
        response = requests.post(
            f"{live_server.url}/pricing_data", json=EXAMPLE_REQUEST, headers={"X-API-Key": api_key}, timeout=120
        )
        return response.status_code, response.headers.get("Retry-After")

    stored_request(api_key)  # every submit is a 409: the burst publishes nothing and measures only the limit
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(submit, range(100)))
    statuses = [status for status, _ in outcomes]
    assert statuses.count(409) == 60 and statuses.count(429) == 40, statuses
    assert all(0 < int(retry) <= 60 for status, retry in outcomes if status == 429)
