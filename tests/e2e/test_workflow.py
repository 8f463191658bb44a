"""The whole way: HTTP client -> offchain -> proving -> SQS -> real Celery worker -> back."""

from __future__ import annotations

import copy
import json

import pytest
import requests
from django.core.management import call_command

from handler.models import BlockHeader
from proving.models import Job
from tests.conftest import EXAMPLE_REQUEST, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXAMPLE_START, EXAMPLE_END = EXAMPLE_REQUEST["params"]["twap"]


@pytest.fixture
def chain(transactional_db):
    # a day of history before the example window, enough for every metric's range
    call_command("seed_demo_chain", "--start", str(EXAMPLE_START - 86400), "--end", str(EXAMPLE_END + 3600))


def post(live_server, key, body):
    return requests.post(f"{live_server.url}/pricing_data", json=body, headers={"X-API-Key": key}, timeout=30)


def status_of(live_server, key, job_id):
    return requests.get(f"{live_server.url}/job_status/{job_id}", headers={"X-API-Key": key}, timeout=30).json()


def test_readme_example_reaches_completed_with_three_verified_results(
    live_server, celery_worker, chain, api_key, tmp_path
):
    response = post(live_server, api_key, EXAMPLE_REQUEST)
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]

    again = post(live_server, api_key, EXAMPLE_REQUEST)
    assert again.status_code == 409 and again.json()["job_id"] == job_id

    def completed():
        body = status_of(live_server, api_key, job_id)
        assert body["status"] != "Failed", body.get("error")
        return body if body["status"] == "Completed" else None

    body = wait_until(completed, timeout=120, interval=0.5, what="the request to complete")
    assert set(body["results"]) == {"twap", "reserve_price", "max_return"}
    for metric, result in body["results"].items():
        assert float(result["value"]) > 0
        assert result["felt"].startswith("0x") and len(result["felt"]) == 66
        assert result["bucket_seconds"] == 60 and result["points"] == 720
    vault = body["vault_result"]
    assert len(vault) == 9
    assert vault[0:2] == [hex(EXAMPLE_START), hex(EXAMPLE_END)]
    assert vault[2] == body["results"]["reserve_price"]["felt"]
    assert vault[5] == body["results"]["twap"]["felt"]
    assert vault[8] == body["results"]["max_return"]["felt"]
    assert body["job_request"] == [  # felts in their canonical form: lower-case, no leading zeros
        hex(int(EXAMPLE_REQUEST["client_info"]["vault_address"], 16)),
        hex(EXAMPLE_REQUEST["client_info"]["timestamp"]),
        EXAMPLE_REQUEST["identifiers"][0],
    ]
    assert set(body["receipts"]) == {"twap", "reserve_price", "max_return"}
    assert body["starknet"]["verifier_data"] == [hex(int(felt, 16)) for felt in vault]
    assert body["composition"]["journal"] == body["composition"]["proof"]["journal"]

    # every receipt, and the group's composition proof, verifies with the published key
    from django.core.management import call_command as run

    key = requests.get(f"{live_server.url}/api/prover_key", headers={"X-API-Key": api_key}, timeout=30).json()
    for record in [*body["receipts"].values(), body["composition"]["proof"]]:
        assert record["kind"] == "attested"
        path = tmp_path / f"{record['claim_digest']}.json"
        path.write_text(json.dumps(record))
        run("verify_receipt", str(path), "--public-key", key["public_key"])

    # the same request once completed: 200 with the same results
    done = post(live_server, api_key, EXAMPLE_REQUEST)
    assert done.status_code == 200 and done.json()["results"] == body["results"]


def test_request_over_missing_block_data_fails_with_the_reason(live_server, celery_worker, chain, api_key):
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["params"]["twap"] = [EXAMPLE_END - 3 * 3600, EXAMPLE_END - 2 * 3600]
    hole = EXAMPLE_END - 9000
    BlockHeader.objects.filter(timestamp__gte=hole, timestamp__lt=hole + 180).delete()  # three minutes, no block
    response = post(live_server, api_key, body)
    assert response.status_code == 201
    job_id = response.json()["job_id"]

    def finished():
        answer = status_of(live_server, api_key, job_id)
        return answer if answer["status"] != "Pending" else None

    answer = wait_until(finished, timeout=90, interval=0.5, what="the request to fail")
    assert answer["status"] == "Failed"
    assert "twap" in answer["error"] and "missing" in answer["error"].lower()
    assert answer["error_code"] == "no_data"
    twap = Job.objects.get(group_id=job_id, metric="twap")
    assert (twap.error_code, twap.attempts) == ("no_data", 1)  # failed at its first attempt, not retried


@pytest.mark.parametrize("round_seconds", [90, 720])
def test_vault_round_shape_down_to_the_shortest_round_completes(
    live_server, celery_worker, chain, api_key, round_seconds
):
    """TWAP over one round, max return and reserve price over three rounds ending together (block buckets)."""
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["params"] = {
        "twap": [EXAMPLE_END - round_seconds, EXAMPLE_END],
        "volatility": [EXAMPLE_END - 3 * round_seconds, EXAMPLE_END],
        "reserve_price": [EXAMPLE_END - 3 * round_seconds, EXAMPLE_END],
    }
    response = post(live_server, api_key, body)
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]

    def completed():
        status = status_of(live_server, api_key, job_id)
        assert status["status"] != "Failed", status.get("error")
        return status if status["status"] == "Completed" else None

    results = wait_until(completed, timeout=120, interval=0.5, what="the vault-round request to complete")["results"]
    assert results["twap"]["bucket_seconds"] == 12 and results["twap"]["points"] == round_seconds // 12
    assert results["reserve_price"]["points"] == 3 * round_seconds // 12
    assert (
        results["reserve_price"]["model"] == "lognormal" and "12s buckets" in results["reserve_price"]["model_reason"]
    )
    assert 0 < float(results["reserve_price"]["value"]) < 0.3 * results["reserve_price"]["strike"]
    assert results["max_return"]["window"] == results["max_return"]["period"] == round_seconds // 12


def test_vault_round_ending_off_the_bucket_grid_completes(live_server, celery_worker, chain, api_key):
    """A settlement time 30 s past a minute: partial first and last buckets, attested like any other."""
    end, round_seconds = EXAMPLE_END + 30, 3 * 3600
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["params"] = {
        "twap": [end - round_seconds, end],
        "volatility": [end - 3 * round_seconds, end],
        "reserve_price": [end - 3 * round_seconds, end],
    }
    job_id = post(live_server, api_key, body).json()["job_id"]

    def completed():
        status = status_of(live_server, api_key, job_id)
        assert status["status"] != "Failed", status.get("error")
        return status if status["status"] == "Completed" else None

    results = wait_until(completed, timeout=120, interval=0.5, what="the off-grid request to complete")["results"]
    assert results["twap"]["bucket_seconds"] == 60 and results["twap"]["points"] == 181
    assert results["twap"]["first_bucket"] == end - round_seconds
    assert results["reserve_price"]["model"] == "lognormal" and results["reserve_price"]["points"] == 541
