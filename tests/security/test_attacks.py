"""Attacks from outside against a real gunicorn server (tests/security/conftest.py).

Every answer any test here receives is checked afterwards: no 5xx, nothing internal
(addresses, exception text, secrets) in the body.
"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from fossil.signing import HEADER, sign
from offchain.models import PricingRequest, ServiceNonce
from proving.models import Job, JobGroup
from tests.conftest import EXAMPLE_REQUEST, REPO
from tests.security.conftest import SUBMIT_LIMIT, free_port, gunicorn_argv, server_env, stored_request

pytestmark = pytest.mark.django_db(transaction=True)

JOB_BODY = {
    "twap": {"start_timestamp": 1672531200, "end_timestamp": 1672574400},
    "reserve_price": {"start_timestamp": 1672531200, "end_timestamp": 1672574400},
    "max_return": {"start_timestamp": 1672531200, "end_timestamp": 1672574400},
}


def signed(method: str, path: str, body: bytes = b"") -> dict:
    return {HEADER: sign(method, path, body), "Content-Type": "application/json"}


# --- tenancy ---------------------------------------------------------------------------


def test_another_clients_request_is_invisible(outsider, make_key):
    victim, attacker = make_key("victim"), make_key("attacker")
    job_id = outsider.submit(victim, EXAMPLE_REQUEST).json()["job_id"]
    theirs = outsider.status(attacker, job_id)
    unknown = outsider.status(attacker, "f" * 64)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()
    assert outsider.status(victim, job_id).json()["status"] == "Pending"


def test_nobody_can_pre_empt_or_poison_another_clients_job(outsider, make_key):
    victim, attacker = make_key("victim"), make_key("attacker")
    # The attacker sends the victim's future request first, and tries the internal API with its key.
    attackers_id = outsider.submit(attacker, EXAMPLE_REQUEST).json()["job_id"]
    for group_id in (attackers_id, "0" * 64):
        poison = dict(JOB_BODY, job_group_id=group_id, twap={"start_timestamp": 1, "end_timestamp": 2})
        assert outsider.call("POST", "/api/job", key=attacker, json=poison).status_code == 401
        assert outsider.call("GET", f"/api/job/{group_id}", key=attacker).status_code == 401
    assert not JobGroup.objects.filter(pk="0" * 64).exists()
    # in process, the attacker's own request has its group, with the ranges it asked for
    assert not Job.objects.filter(group_id=attackers_id, start_timestamp=1).exists()
    PricingRequest.objects.filter(pk=attackers_id).update(status="Failed", error="x")  # the attacker's own fails
    victims = outsider.submit(victim, EXAMPLE_REQUEST)
    assert victims.status_code == 201 and victims.json()["job_id"] != attackers_id
    assert outsider.status(victim, victims.json()["job_id"]).json()["status"] == "Pending"


# --- signatures ------------------------------------------------------------------------


def test_a_signature_opens_one_call_once(outsider):
    body = json.dumps(dict(JOB_BODY, job_group_id="ab" * 32)).encode()
    headers = signed("POST", "/api/job", body)
    assert outsider.call("POST", "/api/job", data=body, headers=headers).status_code == 200
    replay = outsider.call("POST", "/api/job", data=body, headers=headers)
    assert replay.status_code == 401
    assert ServiceNonce.objects.count() == 1


def test_a_signature_does_not_travel_to_another_path_method_or_body(outsider):
    read = signed("GET", "/api/job/" + "ab" * 32)
    assert outsider.call("GET", "/api/job/" + "cd" * 32, headers=read).status_code == 401
    assert outsider.call("GET", "/api/job/" + "ab" * 32 + "?x=1", headers=read).status_code == 401
    assert outsider.call("POST", "/api/job/" + "ab" * 32, headers=read).status_code in (401, 405)
    body = json.dumps({"job_group_id": "a" * 64}).encode()
    callback = signed("POST", f"/internal/job_groups/{'a' * 64}/finished", body)
    assert (
        outsider.call("POST", f"/internal/job_groups/{'b' * 64}/finished", data=body, headers=callback).status_code
        == 401
    )
    create = json.dumps(dict(JOB_BODY, job_group_id="ef" * 32)).encode()
    other = create.replace(b"1672574400", b"1672574000")
    assert outsider.call("POST", "/api/job", data=other, headers=signed("POST", "/api/job", create)).status_code == 401
    assert outsider.call("POST", "/api/job", data=create, headers=signed("GET", "/api/job", create)).status_code == 401
    assert JobGroup.objects.count() == 0


def test_a_signature_with_a_wrong_secret_or_time_is_refused(outsider, settings):
    body = json.dumps(dict(JOB_BODY, job_group_id="ab" * 32)).encode()
    stale = {HEADER: sign("POST", "/api/job", body, now=1_700_000_000), "Content-Type": "application/json"}
    assert outsider.call("POST", "/api/job", data=body, headers=stale).status_code == 401
    settings.SERVICE_SHARED_SECRET = "guessed-" + "g" * 40
    assert outsider.call("POST", "/api/job", data=body, headers=signed("POST", "/api/job", body)).status_code == 401


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda b: b["client_info"].update(vault_address=b["client_info"]["vault_address"] + "\n"),
            "client_info.vault_address",
        ),
        (lambda b: b.update(identifiers=[b["identifiers"][0] + "\n"]), "identifiers"),
        (lambda b: b["client_info"].update(client_address="0x\u0661\u0662"), "client_info.client_address"),
        (lambda b: b.update(identifiers=["0x1\u0000"]), "identifiers"),
    ],
)
def test_trailing_newlines_and_lookalike_digits_are_400_naming_the_field(outsider, make_key, mutate, field):
    body = copy.deepcopy(EXAMPLE_REQUEST)
    mutate(body)
    response = outsider.submit(make_key(), body)
    assert response.status_code == 400 and response.json()["message"].startswith(field), response.text
    assert PricingRequest.objects.count() == 0


def test_duplicate_keys_are_400_naming_the_key(outsider, make_key):
    key = make_key()
    text = json.dumps(EXAMPLE_REQUEST).replace('"vault_address":', '"vault_address": "0x1", "vault_address":', 1)
    response = outsider.submit(key, text)
    assert response.status_code == 400 and response.json()["message"].startswith("client_info.vault_address")
    assert "duplicate" in response.json()["message"]
    assert PricingRequest.objects.count() == 0


@pytest.mark.parametrize("text", ["[" * 6000 + "]" * 6000, '{"a":' * 2500 + "1" + "}" * 2500, "NaN", '{"x": Infinity}'])
def test_deep_nesting_and_non_numbers_are_400(outsider, make_key, text):
    assert outsider.submit(make_key(), text).status_code == 400


@pytest.mark.parametrize(
    "text",
    [
        '{"\\ud800": 1}',
        '{"identifiers": ["\\udc00"]}',
        '{"params": {"\\ud800x": [1, 2]}}',
        '{"client_info": {"timestamp": 1' + "0" * 5000 + "}}",
        "\ufeff{}",
        '{"identifiers": 1e999}',
        '"\\ud800"',
    ],
)
def test_strings_that_are_not_unicode_and_numbers_too_long_are_400(outsider, make_key, text):
    response = outsider.submit(make_key(), text.encode("utf-8"))
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("job_id", ["a%00b", "%ff%fe", "x" * 3000, "..%2F..%2Fetc", "' OR 1=1 --"])
def test_odd_job_ids_are_404(outsider, make_key, job_id):
    assert outsider.status(make_key(), job_id).status_code == 404


# --- rate limit ------------------------------------------------------------------------


def test_a_concurrent_burst_gets_exactly_the_limit_through_two_processes(outsider, make_key):
    key, bystander = make_key(), make_key("bystander")
    for raw_key in (key, bystander):
        stored_request(raw_key)  # every submit below is a 409: the burst measures only the limit
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: outsider.submit(key, EXAMPLE_REQUEST).status_code, range(100)))
    assert statuses.count(409) == SUBMIT_LIMIT and statuses.count(429) == 100 - SUBMIT_LIMIT, statuses
    assert outsider.submit(bystander, EXAMPLE_REQUEST).status_code == 409  # one key's limit is its own


# --- what a client sees --------------------------------------------------------------------


def test_a_failure_shows_a_code_not_the_internal_story(outsider, make_key, settings):
    from fossil.http import ServiceCallFailed
    from offchain.services import pricing_request_forward
    from offchain.tasks import ForwardTask

    key = make_key()
    job_id = stored_request(key)
    PricingRequest.objects.filter(pk=job_id).update(forwarded_at=None)
    assert outsider.submit(key, EXAMPLE_REQUEST).json()["job_id"] == job_id  # the server agrees on the id
    settings.PROVING_TRANSPORT = "http"  # a proving service deployed on its own...
    settings.PROVING_SERVICE_URL = f"http://127.0.0.1:{free_port()}"  # ...and nothing listens there
    with pytest.raises(ServiceCallFailed) as failure:
        pricing_request_forward(job_id=job_id, run=1)
    ForwardTask().on_failure(failure.value, "task", (job_id, 1), {}, None)
    assert "127.0.0.1" in PricingRequest.objects.get(pk=job_id).error  # kept for operators
    body = outsider.status(key, job_id).json()
    assert (body["status"], body["error_code"]) == ("Failed", "proving_service_unavailable")


def test_headers_and_methods_outside_the_contract(outsider, make_key):
    key = make_key()
    assert outsider.call("GET", "/pricing_data", key=key).status_code == 405
    assert (
        outsider.call(
            "POST", "/pricing_data", key=key, data="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ).status_code
        == 415
    )
    assert (
        outsider.call("POST", "/pricing_data", headers={HEADER: "t=1,n=2,v2=3"}, json=EXAMPLE_REQUEST).status_code
        == 401
    )
    assert (
        outsider.call("GET", "/job_status/" + "a" * 64, key=key + "\u00e9".encode().decode("latin-1")).status_code
        == 401
    )


# --- secret policy ---------------------------------------------------------------------------
STRONG_KEY = "qNOXjLLDI4ZeosZZMsDykCKLGwLZmnbohesjWy2JnZPtl2qDS1gxUhiepKca3K-V"  # secrets.token_urlsafe(48)


@pytest.mark.parametrize(
    ("overrides", "variable", "value"),
    [
        ({"SECRET_KEY": "hunter2-short"}, "SECRET_KEY", "hunter2-short"),
        ({"SECRET_KEY": "insecure-local-only-" + "x" * 40}, "SECRET_KEY", "insecure-local-only-"),
        (
            {"SECRET_KEY": STRONG_KEY, "SERVICE_SHARED_SECRET": "local-only-service-secret"},
            "SERVICE_SHARED_SECRET",
            "local-only-service",
        ),
        (
            {"SECRET_KEY": STRONG_KEY, "DATABASE_URL": "postgresql://fossil:hunter2-pw@db:port/fossil"},
            "DATABASE_URL",
            "hunter2",
        ),
    ],
)
def test_a_server_with_weak_secrets_does_not_start_and_does_not_print_them(web, overrides, variable, value):
    env = server_env(web, FOSSIL_REQUIRE_SECRETS="true", **overrides)
    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert check.returncode != 0 and check.stderr.count("\n") == 1 and variable in check.stderr, check.stderr
    assert value not in check.stderr + check.stdout
    port = free_port()
    server = subprocess.run(gunicorn_argv(port), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert server.returncode != 0 and variable in server.stderr + server.stdout
    if "hunter2" in value:  # the known defaults also stand in settings.py's source lines of the traceback
        assert value not in server.stderr + server.stdout
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens
