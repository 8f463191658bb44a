from __future__ import annotations

import copy
import json

import pytest
from rest_framework.test import APIClient

from offchain.models import PricingRequest
from offchain.services import api_key_create
from tests.conftest import EXAMPLE_REQUEST, stub_metric_result

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(key_client):
    return key_client


def post(client, body):
    return client.post("/pricing_data", body, format="json")


def test_new_request_is_stored_pending_and_forwarded_after_commit(client, settings, django_capture_on_commit_callbacks):
    settings.PROVING_TRANSPORT = "http"
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, EXAMPLE_REQUEST)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "Pending"
    assert len(body["job_id"]) == 64
    stored = PricingRequest.objects.get(job_id=body["job_id"])
    assert stored.status == PricingRequest.Status.PENDING
    assert stored.params["volatility"] == [1672531200, 1672574400]
    assert len(callbacks) == 1  # forwarding is queued only once the row is committed


def test_in_process_the_group_is_created_with_the_request_and_its_jobs_queued_after_commit(
    client, settings, django_capture_on_commit_callbacks
):
    from proving.models import Job, JobGroup

    settings.PROVING_TRANSPORT = "inprocess"
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, EXAMPLE_REQUEST)
    assert response.status_code == 201, response.json()
    job_id = response.json()["job_id"]
    assert PricingRequest.objects.get(job_id=job_id).forwarded_at is not None
    group = JobGroup.objects.get(pk=job_id)
    assert group.reports_to == JobGroup.ReportsTo.OFFCHAIN
    assert Job.objects.filter(group=group, status="pending").count() == 3
    assert len(callbacks) == 1  # the three prove messages, published once committed


def test_same_request_twice_gives_same_job_id_and_409_while_pending(client):
    first = post(client, EXAMPLE_REQUEST).json()
    second = post(client, EXAMPLE_REQUEST)
    assert second.status_code == 409
    assert second.json()["job_id"] == first["job_id"]
    assert PricingRequest.objects.count() == 1


def test_completed_request_answers_200_with_results(client):
    job_id = post(client, EXAMPLE_REQUEST).json()["job_id"]
    metrics = {
        metric: {"result": stub_metric_result(metric), "receipt": None}
        for metric in ("twap", "reserve_price", "max_return")
    }
    PricingRequest.objects.filter(job_id=job_id).update(
        status="Completed", results={"metrics": metrics, "vault_result": ["0x1"] * 9}
    )
    response = post(client, EXAMPLE_REQUEST)
    assert response.status_code == 200
    assert response.json()["results"]["twap"]["value"] == "1.0"


def test_failed_request_runs_again(client, settings, django_capture_on_commit_callbacks):
    settings.PROVING_TRANSPORT = "http"
    job_id = post(client, EXAMPLE_REQUEST).json()["job_id"]
    PricingRequest.objects.filter(job_id=job_id).update(status="Failed", error="boom")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, EXAMPLE_REQUEST)
    assert response.status_code == 200
    assert response.json()["status"] == "Pending"
    stored = PricingRequest.objects.get(job_id=job_id)
    assert (stored.status, stored.run, stored.error) == ("Pending", 2, "")
    assert len(callbacks) == 1


def test_different_request_gets_a_different_job_id(client):
    other = copy.deepcopy(EXAMPLE_REQUEST)
    other["params"]["twap"] = [1672531200, 1672560000]
    assert post(client, EXAMPLE_REQUEST).json()["job_id"] != post(client, other).json()["job_id"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("identifiers"), "identifiers"),
        (lambda b: b.update(identifiers=[]), "identifiers"),
        (lambda b: b.update(identifiers=["PITCH"]), "identifiers"),
        (lambda b: b.update(identifiers=["0x" + "f" * 64]), "identifiers"),  # above the Stark prime
        (lambda b: b["params"].update(twap=[1672574400, 1672531200]), "params.twap"),
        (lambda b: b["params"].update(twap=["1672531200", 1672574400]), "params.twap"),
        (lambda b: b["params"].update(volatility=[1672531200]), "params.volatility"),
        (lambda b: b["params"].pop("reserve_price"), "params.reserve_price"),
        (lambda b: b["params"].update(reserve_price=[0, 10**9]), "params.reserve_price"),  # range too long
        (lambda b: b["client_info"].update(vault_address="0xZZ"), "client_info.vault_address"),
        (lambda b: b["client_info"].update(timestamp=1.5), "client_info.timestamp"),
        (lambda b: b["client_info"].update(timestamp=True), "client_info.timestamp"),
        (lambda b: b.update(extra=1), "extra"),
        (lambda b: b["params"].update(alpha_beta=1), "params.alpha_beta"),
    ],
)
def test_bad_bodies_get_400_naming_the_field(client, mutate, field):
    body = copy.deepcopy(EXAMPLE_REQUEST)
    mutate(body)
    response = post(client, body)
    assert response.status_code == 400, response.json()
    message = response.json()["message"]
    assert message.startswith(field) and message[len(field)] in ":[", message
    assert PricingRequest.objects.count() == 0


def test_non_object_body_is_400(client):
    response = client.post("/pricing_data", "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    response = client.post("/pricing_data", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_missing_or_wrong_key_is_401():
    client = APIClient()
    assert post(client, EXAMPLE_REQUEST).status_code == 401
    client.credentials(HTTP_X_API_KEY="fsl_nothere_nope")
    response = post(client, EXAMPLE_REQUEST)
    assert response.status_code == 401
    assert "API key" in response.json()["message"]
    assert PricingRequest.objects.count() == 0


def test_revoked_key_is_401(client, api_key):
    from offchain.services import api_key_revoke

    api_key_revoke(prefix=api_key.split("_")[1])
    assert post(client, EXAMPLE_REQUEST).status_code == 401


def test_keys_are_stored_hashed():
    key, raw = api_key_create(name="someone")
    assert raw not in (key.key_hash, key.prefix) and raw.startswith(f"fsl_{key.prefix}_")


def test_the_same_request_from_two_clients_gets_two_job_ids(client, other_client):
    first = post(client, EXAMPLE_REQUEST)
    second = post(other_client, EXAMPLE_REQUEST)
    assert first.status_code == second.status_code == 201
    assert first.json()["job_id"] != second.json()["job_id"]
    assert post(client, EXAMPLE_REQUEST).json()["job_id"] == first.json()["job_id"]  # idempotent per client
    PricingRequest.objects.filter(job_id=first.json()["job_id"]).update(status="Failed", error="boom")
    assert other_client.get(f"/job_status/{second.json()['job_id']}").json()["status"] == "Pending"


def raw_post(client, text: str):
    return client.post("/pricing_data", text, content_type="application/json")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda b: b["client_info"].update(vault_address=b["client_info"]["vault_address"] + "\n"),
            "client_info.vault_address",
        ),
        (lambda b: b.update(identifiers=[b["identifiers"][0] + "\n"]), "identifiers"),
        (
            lambda b: b["client_info"].update(client_address=" " + b["client_info"]["client_address"]),
            "client_info.client_address",
        ),
    ],
)
def test_a_trailing_newline_or_space_is_refused(client, mutate, field):
    body = copy.deepcopy(EXAMPLE_REQUEST)
    mutate(body)
    response = post(client, body)
    assert response.status_code == 400 and response.json()["message"].startswith(field)
    assert PricingRequest.objects.count() == 0


def test_duplicate_keys_are_400_naming_the_key(client):
    text = json.dumps(EXAMPLE_REQUEST)
    top = text.replace('"identifiers":', '"identifiers": ["0x1"], "identifiers":', 1)
    response = raw_post(client, top)
    assert response.status_code == 400 and response.json()["message"].startswith("identifiers: duplicate key")
    inner = text.replace('"twap":', '"twap": [1, 2], "twap":', 1)
    response = raw_post(client, inner)
    assert response.status_code == 400 and response.json()["message"].startswith("params.twap: duplicate key")
    assert PricingRequest.objects.count() == 0


@pytest.mark.parametrize("depth", [40, 5000])
def test_deeply_nested_bodies_are_400(client, depth):
    response = raw_post(client, '{"identifiers": ' + "[" * depth + "]" * depth + "}")
    assert response.status_code == 400 and "nested deeper" in response.json()["message"]


def test_nan_is_refused(client):
    response = raw_post(client, json.dumps(EXAMPLE_REQUEST).replace("1672531200", "NaN", 1))
    assert response.status_code == 400 and "NaN" in response.json()["message"]


def test_equal_felts_in_other_spellings_get_the_same_job_id(client):
    first = post(client, EXAMPLE_REQUEST).json()["job_id"]
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["identifiers"] = ["0x000" + body["identifiers"][0][2:].upper()]
    vault = body["client_info"]["vault_address"]
    body["client_info"]["vault_address"] = "0x" + vault[2:].upper().rjust(64, "0")
    response = post(client, body)
    assert response.status_code == 409 and response.json()["job_id"] == first
    stored = PricingRequest.objects.get(job_id=first)
    assert stored.identifiers == EXAMPLE_REQUEST["identifiers"]
