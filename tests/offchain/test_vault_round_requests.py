"""A request that asks to be verifiable on-chain must be a vault round (docs/proofs.md, §7)."""

from __future__ import annotations

import copy

import pytest

from offchain.models import PricingRequest
from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db

END = 1_700_006_400  # a full UTC hour
HOUR = 3600


def vault_round(end: int = END) -> dict:
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["params"] = {
        "twap": [end - 720 * HOUR, end],
        "volatility": [end - 1440 * HOUR, end],
        "reserve_price": [end - 720 * HOUR, end],
    }
    body["verifiable_on_chain"] = True
    return body


def test_a_vault_round_is_accepted(key_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = key_client.post("/pricing_data", vault_round(), format="json")
    assert response.status_code == 201, response.json()
    assert PricingRequest.objects.count() == 1


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda b: b["params"].update(twap=[END - 12 * HOUR, END]), "twap"),
        (lambda b: b["params"].update(volatility=[END - 720 * HOUR, END]), "volatility"),
        (lambda b: b["params"].update(reserve_price=[END - 720 * HOUR + 60, END + 60]), "reserve_price"),
    ],
)
def test_another_shape_is_refused_naming_the_range(key_client, change, field):
    body = vault_round()
    change(body)
    response = key_client.post("/pricing_data", body, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert PricingRequest.objects.count() == 0


def test_without_the_flag_any_shape_is_accepted(key_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = key_client.post("/pricing_data", EXAMPLE_REQUEST, format="json")
    assert response.status_code == 201
