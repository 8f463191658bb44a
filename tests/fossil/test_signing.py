"""Service signatures open exactly one call, once."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from fossil.signing import META_KEY, sign, verify
from offchain.models import ServiceNonce
from proving.models import JobGroup

pytestmark = pytest.mark.django_db

GROUP = "ab" * 32
BODY = json.dumps(
    {
        "job_group_id": GROUP,
        "twap": {"start_timestamp": 1672531200, "end_timestamp": 1672574400},
        "reserve_price": {"start_timestamp": 1672531200, "end_timestamp": 1672574400},
        "max_return": {"start_timestamp": 1672500000, "end_timestamp": 1672574400},
    }
).encode()


def post(path, body, signature):
    return APIClient().post(path, body, content_type="application/json", **{META_KEY: signature})


def get(path, signature):
    return APIClient().get(path, **{META_KEY: signature})


def test_a_signature_works_once():
    signature = sign("POST", "/api/job", BODY)
    assert post("/api/job", BODY, signature).status_code == 200
    replay = post("/api/job", BODY, signature)
    assert replay.status_code == 401 and "already used" in replay.json()["message"]
    assert ServiceNonce.objects.count() == 1


def test_a_signature_is_bound_to_the_path_and_query():
    post("/api/job", BODY, sign("POST", "/api/job", BODY))
    for_other_group = sign("GET", "/api/job/" + "cd" * 32, b"")
    assert get(f"/api/job/{GROUP}", for_other_group).status_code == 401
    with_query = sign("GET", f"/api/job/{GROUP}?x=1", b"")
    assert get(f"/api/job/{GROUP}", with_query).status_code == 401
    assert get(f"/api/job/{GROUP}?x=1", sign("GET", f"/api/job/{GROUP}?x=1", b"")).status_code == 200


def test_a_signature_is_bound_to_the_method_and_body():
    get_signature = sign("GET", "/api/job", b"")
    assert post("/api/job", b"", get_signature).status_code == 401
    other_body = BODY.replace(b"1672500000", b"1672400000")
    assert post("/api/job", other_body, sign("POST", "/api/job", BODY)).status_code == 401
    assert JobGroup.objects.count() == 0


def test_callback_signature_for_one_group_does_not_open_another():
    body = json.dumps({"job_group_id": "a" * 64}).encode()
    signature = sign("POST", f"/internal/job_groups/{'a' * 64}/finished", body)
    assert post(f"/internal/job_groups/{'b' * 64}/finished", body, signature).status_code == 401


def test_old_and_future_signatures_are_refused():
    now = time.time()
    assert post("/api/job", BODY, sign("POST", "/api/job", BODY, now=now - 301)).status_code == 401
    assert post("/api/job", BODY, sign("POST", "/api/job", BODY, now=now + 301)).status_code == 401
    assert post("/api/job", BODY, sign("POST", "/api/job", BODY, now=now - 290)).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["", "t=1", "garbage", "t=abc,n=00,v2=00", "t=1,n=" + "0" * 32 + ",v1=" + "0" * 64, "x" * 1000],
)
def test_malformed_headers_are_401(header):
    assert post("/api/job", BODY, header).status_code == 401


def test_rotation_accepts_the_previous_secret_and_signs_with_the_current(settings):
    settings.SERVICE_SHARED_SECRET = "old-" + "o" * 40
    old_signature = sign("POST", "/api/job", BODY)
    settings.SERVICE_SHARED_SECRET_PREVIOUS = settings.SERVICE_SHARED_SECRET
    settings.SERVICE_SHARED_SECRET = "new-" + "n" * 40
    new_signature = sign("POST", "/api/job", BODY)
    assert verify(new_signature, method="POST", path="/api/job", body=BODY) is not None
    assert post("/api/job", BODY, old_signature).status_code == 200  # still accepted during the change
    settings.SERVICE_SHARED_SECRET_PREVIOUS = ""
    assert verify(old_signature, method="POST", path="/api/job", body=BODY) is None  # change over


def test_expired_nonces_are_dropped_on_the_next_claim():
    from offchain.nonces import nonce_claim

    assert nonce_claim("1" * 32, expires_at_unix=int(time.time()) - 1)
    assert nonce_claim("2" * 32, expires_at_unix=int(time.time()) + 60)
    assert list(ServiceNonce.objects.values_list("nonce", flat=True)) == ["2" * 32]
    assert not nonce_claim("2" * 32, expires_at_unix=int(time.time()) + 60)
