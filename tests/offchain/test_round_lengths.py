"""Every round length the vault allows is accepted; a range shorter than a metric's minimum gets a 400 naming it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from offchain.models import PricingRequest
from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db
END = 1672574400
VAULT_EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "example_request_vault_round.json").read_text()
)


def vault_request(round_seconds: int) -> dict:
    """The vault's shape: TWAP over one round, max return and reserve price over three, ending together."""
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["params"] = {
        "twap": [END - round_seconds, END],
        "volatility": [END - 3 * round_seconds, END],
        "reserve_price": [END - 3 * round_seconds, END],
    }
    return body


@pytest.mark.parametrize("round_seconds", [90, 720, 3 * 3600, 30 * 86400])
def test_vault_round_lengths_are_accepted(key_client, round_seconds):
    response = key_client.post("/pricing_data", vault_request(round_seconds), format="json")
    assert response.status_code == 201, response.json()


def test_vault_round_example_has_the_vault_shape(key_client):
    p = VAULT_EXAMPLE["params"]
    round_seconds = p["twap"][1] - p["twap"][0]
    assert p["volatility"] == p["reserve_price"] == [p["twap"][1] - 3 * round_seconds, p["twap"][1]]
    assert key_client.post("/pricing_data", VAULT_EXAMPLE, format="json").status_code == 201


@pytest.mark.parametrize(
    "field, seconds, minimum",
    [
        ("twap", 11, 12),
        ("volatility", 191, 192),
        ("reserve_price", 191, 192),
    ],
)
def test_too_short_range_is_400_naming_the_minimum(key_client, field, seconds, minimum):
    body = vault_request(90)
    body["params"][field] = [END - seconds, END]
    response = key_client.post("/pricing_data", body, format="json")
    assert response.status_code == 400, response.json()
    message = response.json()["message"]
    assert message.startswith(f"params.{field}") and f"minimum of {minimum} seconds" in message, message
    assert PricingRequest.objects.count() == 0
