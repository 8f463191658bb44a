"""Ranges that can have no block data are refused when submitted, naming the field, instead of
being queued to fail (handler/availability.py)."""

from __future__ import annotations

import copy
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from fossil.signing import HEADER, sign
from handler.availability import CLOCK_SKEW_SECONDS, range_without_data
from proving.models import JobGroup
from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db

START, END = EXAMPLE_REQUEST["params"]["twap"]
YEAR_2100 = 4102444800


@pytest.fixture
def chain(db):
    call_command("seed_demo_chain", "--start", str(START - 3600), "--end", str(END + 600))


def submit(client, field, window):
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["params"][field] = list(window)
    return client.post("/pricing_data", body, format="json")


@pytest.mark.parametrize(
    ("window", "says"),
    [
        ((YEAR_2100, YEAR_2100 + 86400), "ends in the future"),
        ((253402214400, 253402300799), "ends in the future"),  # the year 9999
        ((1500000000, 1500000000 + 6 * 3600), "starts before the earliest block data"),
        ((END + 86400, END + 2 * 86400), "ends after the latest ingested block data"),
    ],
)
@pytest.mark.parametrize("field", ["twap", "volatility", "reserve_price"])
def test_a_range_without_data_is_a_400_naming_the_field(key_client, chain, field, window, says):
    response = submit(key_client, field, window)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and body["message"].startswith(f"params.{field}: ") and says in body["message"]
    assert not JobGroup.objects.exists()  # nothing queued


def test_a_range_inside_the_chain_or_just_past_its_end_is_accepted(key_client, chain, settings):
    assert submit(key_client, "twap", (START, END)).status_code == 201
    just_past = (END - 3600, END + settings.BLOCK_DATA_MARGIN_SECONDS)  # blocks end at END + 600: within the lag
    assert submit(key_client, "twap", just_past).status_code == 201


def test_with_no_blocks_at_all_only_the_clock_counts(db):
    assert range_without_data(START, END) is None
    now = 1_800_000_000
    assert range_without_data(now - 3600, now + CLOCK_SKEW_SECONDS, now=now) is None  # a client clock ahead
    assert "future" in range_without_data(now, now + CLOCK_SKEW_SECONDS + 1, now=now)


def test_the_proving_api_refuses_them_too(chain):
    window = {"start_timestamp": YEAR_2100, "end_timestamp": YEAR_2100 + 3600}
    ok = {"start_timestamp": START, "end_timestamp": END}
    raw = json.dumps({"job_group_id": "f" * 64, "twap": ok, "reserve_price": window, "max_return": ok}).encode()
    headers = {HEADER: sign("POST", "/api/job", raw)}
    response = APIClient().post("/api/job", raw, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.json()["message"].startswith("reserve_price: ends in the future")
    assert not JobGroup.objects.exists()
