from __future__ import annotations

import pytest

from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db


def test_job_status_unknown_is_404_and_pending_is_reported(key_client):
    client = key_client
    assert client.get("/job_status/nope").status_code == 404
    job_id = client.post("/pricing_data", EXAMPLE_REQUEST, format="json").json()["job_id"]
    body = client.get(f"/job_status/{job_id}").json()
    assert (body["job_id"], body["status"]) == (job_id, "Pending")
