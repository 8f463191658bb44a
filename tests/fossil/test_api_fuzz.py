"""Property-based fuzz of every public operation, generated from our own OpenAPI schema.

Requests go through the whole Django stack (middleware, auth, throttling, validation)
against the real test database; none may end in a 5xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from fossil.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 250


def test_no_server_errors_over_generated_requests(api_key, sqs_queues, settings):
    settings.API_RATE_LIMITS = {"submit": "100000/min", "read": "100000/min"}
    schema = schemathesis.openapi.from_wsgi("/api/schema", application)
    seen: dict[str, int] = {}
    server_errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(case=operation.as_strategy())
        def exercise(case):
            response = case.call(headers={"X-API-Key": api_key})
            seen[label] = seen.get(label, 0) + 1
            if response.status_code >= 500:
                server_errors.append(f"{label} -> {response.status_code}: {case.body!r:.300}")

        exercise()
    assert not server_errors, "\n".join(server_errors[:10])
    assert sum(seen.values()) >= 1000, seen
    assert {"POST /pricing_data", "GET /job_status/{job_id}", "POST /api/job"} <= set(seen)
