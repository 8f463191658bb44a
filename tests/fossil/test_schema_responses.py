"""Every endpoint's real responses match /api/schema, and list no field the schema does not.

The bodies are built by the serializers the schema is generated from; this test keeps it
so: it drives each endpoint through its states (pending, completed, failed, rerun,
errors) on real Postgres and the live server, and validates each body against the
served schema with every documented object closed (additionalProperties: false).
"""

from __future__ import annotations

import copy
import json

import pytest
from django.core.management import call_command
from openapi_schema_validator import OAS30Validator
from rest_framework.test import APIClient

from fossil.signing import HEADER, sign
from handler.models import BlockHeader
from handler.proofs import django_glue
from handler.proofs.keys import create_private_key_file
from handler.proofs.records import ProofRecord
from offchain.models import ApiKey, PricingRequest
from offchain.services import hash_api_key, pricing_request_sync
from proving import runner
from proving import services as proving_services
from proving.models import Job
from tests.conftest import EXAMPLE_REQUEST, stub_metric_result

pytestmark = pytest.mark.django_db(transaction=True)

START, END = 1672531200, 1672531200 + 6 * 3600  # six hours of the demo chain: every metric computes
MISSING = (START + 3600, START + 2 * 3600)  # within the chain: a hole is cut in it before it is asked for
HOLE = (START + 5400, START + 5580)  # three minutes with no block: every job over MISSING fails for good


def closed(schema: dict) -> dict:
    """The served schema with each documented object closed to undocumented fields.

    drf-spectacular writes a nullable nested object as OAS 3.0's ``{allOf: [$ref],
    nullable: true}``, which JSON Schema validators read as "never null" (the null goes
    on to the referenced object); it is spelled here as ``anyOf: [$ref, null]``.
    """

    def walk(node):
        if isinstance(node, dict):
            if node.get("nullable") and len(node.get("allOf", [])) == 1 and "type" not in node:
                node["anyOf"] = [node.pop("allOf")[0], {"enum": [None]}]
                del node["nullable"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    strict = copy.deepcopy(schema)
    walk(strict)
    for component in strict["components"]["schemas"].values():
        if "properties" in component and "additionalProperties" not in component:
            component["additionalProperties"] = False
    return strict


@pytest.fixture
def schema(key_client):
    response = key_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return closed(response.json())


@pytest.fixture
def check(schema):
    seen: set[tuple[str, str, int]] = set()

    def check(response, path: str, method: str = "get") -> dict:
        body = response.json()
        operation = schema["paths"][path][method]
        documented = operation["responses"].get(str(response.status_code))
        assert documented, f"{method.upper()} {path}: status {response.status_code} is not in the schema: {body}"
        response_schema = documented["content"]["application/json"]["schema"]
        validator = OAS30Validator({"allOf": [response_schema], "components": schema["components"]})
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{method.upper()} {path} {response.status_code}: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
        )
        seen.add((path, method, response.status_code))
        return body

    check.seen = seen  # type: ignore[attr-defined]
    return check


@pytest.fixture
def chain(transactional_db):
    call_command("seed_demo_chain", "--start", str(START - 3600), "--end", str(END + 600))


@pytest.fixture
def services_here(live_server, settings, sqs_queues, tmp_path):
    """The offchain processor reaches the proving API on the live server; attested proofs."""
    settings.PROVING_TRANSPORT = "http"
    settings.PROVING_SERVICE_URL = live_server.url
    settings.OFFCHAIN_CALLBACK_URL = live_server.url
    settings.PROVER_BACKEND = "attested"
    settings.PROVER_KEY_FILE = str(tmp_path / "prover.pem")
    settings.PROVER_PRIVATE_KEY = ""
    create_private_key_file(settings.PROVER_KEY_FILE)  # never created implicitly (docs/proofs.md)
    django_glue.reset_caches()
    yield
    django_glue.reset_caches()


def service_get(path: str):
    """The proving API takes only signed service calls (offchain/permissions.py)."""
    return APIClient().get(path, headers={HEADER: sign("GET", path, b"")})


def service_post(path: str, body: dict):
    raw = json.dumps(body).encode()
    return APIClient().post(path, raw, content_type="application/json", headers={HEADER: sign("POST", path, raw)})


def request_for(window: tuple[int, int]) -> dict:
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["params"] = {"twap": list(window), "volatility": list(window), "reserve_price": list(window)}
    return body


def run_group(job_id: str, window: tuple[int, int]) -> None:
    """What the proving service and its workers do for a forwarded request, in this process."""
    ranges = {metric: window for metric in ("twap", "reserve_price", "max_return")}
    proving_services.job_group_create(job_group_id=job_id, ranges=ranges)
    for job in Job.objects.filter(group_id=job_id):
        runner.job_run(job_id=job.pk)
    proving_services.job_group_record_outcome(job_id=job.pk)


def test_every_endpoint_answers_as_the_schema_says(chain, services_here, key_client, check):
    anonymous = APIClient()
    check(anonymous.get("/health"), "/health")
    check(anonymous.get("/health/ready"), "/health/ready")
    check(key_client.get("/api/prover_key"), "/api/prover_key")
    check(anonymous.get("/api/prover_key"), "/api/prover_key")  # 401

    # a request that completes
    created = check(key_client.post("/pricing_data", request_for((START, END)), format="json"), "/pricing_data", "post")
    job_id = created["job_id"]
    pending = key_client.post("/pricing_data", request_for((START, END)), format="json")
    assert pending.status_code == 409
    check(pending, "/pricing_data", "post")
    assert check(key_client.get(f"/job_status/{job_id}"), "/job_status/{job_id}")["status"] == "Pending"
    run_group(job_id, (START, END))
    group = check(service_get(f"/api/job/{job_id}"), "/api/job/{job_group_id}")
    assert group["status"] == "completed" and all(job["proof"] for job in group["jobs"])
    assert pricing_request_sync(job_id=job_id) == "completed"
    done = check(key_client.get(f"/job_status/{job_id}"), "/job_status/{job_id}")
    assert set(done) >= {"results", "receipts", "composition", "starknet", "vault_result", "job_request"}
    assert done["receipts"]["twap"]["kind"] == "attested"
    again = key_client.post("/pricing_data", request_for((START, END)), format="json")
    assert again.status_code == 200
    check(again, "/pricing_data", "post")

    # a request that fails, then runs again
    BlockHeader.objects.filter(timestamp__gte=HOLE[0], timestamp__lt=HOLE[1]).delete()
    failing = check(key_client.post("/pricing_data", request_for(MISSING), format="json"), "/pricing_data", "post")
    run_group(failing["job_id"], MISSING)
    assert check(service_get(f"/api/job/{failing['job_id']}"), "/api/job/{job_group_id}")["status"] == "failed"
    assert pricing_request_sync(job_id=failing["job_id"]) == "failed"
    failed = check(key_client.get(f"/job_status/{failing['job_id']}"), "/job_status/{job_id}")
    assert failed["status"] == "Failed" and failed["error"] and failed["error_code"] == "no_data"
    rerun = key_client.post("/pricing_data", request_for(MISSING), format="json")
    assert rerun.status_code == 200 and rerun.json()["status"] == "Pending"
    check(rerun, "/pricing_data", "post")

    # the proving API's own answers
    window = {"start_timestamp": START, "end_timestamp": END}
    body = {"job_group_id": "s" * 64, "twap": window, "reserve_price": window, "max_return": window}
    check(service_post("/api/job", body), "/api/job", "post")
    conflicting = dict(body, twap={"start_timestamp": START, "end_timestamp": END - 60})
    assert service_post("/api/job", conflicting).status_code == 409
    check(service_post("/api/job", conflicting), "/api/job", "post")
    check(service_post("/api/job", dict(body, twap={})), "/api/job", "post")  # 400
    assert check(service_get(f"/api/job/{'s' * 64}"), "/api/job/{job_group_id}")["status"] == "running"

    # errors: one shape everywhere
    check(key_client.get(f"/job_status/{'0' * 64}"), "/job_status/{job_id}")  # 404
    check(key_client.get(f"/api/job/{job_id}"), "/api/job/{job_group_id}")  # 401: a client key is no way in
    check(service_get("/api/job/nope"), "/api/job/{job_group_id}")  # 404
    check(anonymous.get(f"/job_status/{job_id}"), "/job_status/{job_id}")  # 401
    check(key_client.post("/pricing_data", {"identifiers": []}, format="json"), "/pricing_data", "post")  # 400

    statuses = {(path, method): set() for path, method, _ in check.seen}
    for path, method, status in check.seen:
        statuses[(path, method)].add(status)
    assert statuses[("/pricing_data", "post")] >= {200, 201, 400, 409}
    assert statuses[("/job_status/{job_id}", "get")] >= {200, 401, 404}
    assert statuses[("/api/job", "post")] >= {200, 400, 409}
    assert statuses[("/api/job/{job_group_id}", "get")] >= {200, 401, 404}


def groth16_request(job_id: str, vault_address: str, calldata: dict, raw_key: str) -> None:
    """A completed request with Groth16 receipts and what was stored with each proof."""
    record = ProofRecord(
        kind="groth16",
        image_id=b"\1" * 32,
        journal=b"not a metric journal",
        claim_digest=b"\2" * 32,
        seal=bytes(260),
        selector=bytes(4),
    ).to_json()
    metrics = {
        metric: {
            "result": stub_metric_result(metric, START, END - 60),
            "receipt": record,
            "starknet_calldata": calldata[metric],
        }
        for metric in ("twap", "reserve_price", "max_return")
    }
    PricingRequest.objects.create(
        job_id=job_id,
        api_key=ApiKey.objects.get(key_hash=hash_api_key(raw_key)),
        status="Completed",
        identifiers=EXAMPLE_REQUEST["identifiers"],
        params=EXAMPLE_REQUEST["params"],
        client_info=dict(EXAMPLE_REQUEST["client_info"], vault_address=vault_address),
        results={
            "metrics": metrics,
            "vault_result": ["0x1"] * 9,
            "composition_journal": None,
            "composition_proof": None,
        },
    )


def test_starknet_blocks_and_the_key_ring_answer_as_the_schema_says(
    services_here, api_key, key_client, check, tmp_path
):
    """The shapes issue #13 adds: per-metric calldata or its error, a status with no Starknet
    block at all, and a key ring with a retired key."""
    stored = {
        "twap": {"calldata": ["0x2", "0xa", "0xb"]},
        "reserve_price": {"error": {"code": "proof_verification", "message": "pairing: …"}},
        "max_return": None,  # stored before calldata was kept
    }
    groth16_request("a" * 64, EXAMPLE_REQUEST["client_info"]["vault_address"], stored, api_key)
    block = check(key_client.get(f"/job_status/{'a' * 64}"), "/job_status/{job_id}")["starknet"]
    calldata = block["verify_proof_calldata"]
    assert calldata["twap"][:4] == ["0x3", "0x2", "0xa", "0xb"]
    assert calldata["reserve_price"] == stored["reserve_price"]
    assert calldata["max_return"]["error"]["code"] == "calldata_not_computed"

    groth16_request("b" * 64, "0x" + "f" * 64, stored, api_key)  # not a felt: no Starknet block can be built
    body = check(key_client.get(f"/job_status/{'b' * 64}"), "/job_status/{job_id}")
    assert body["status"] == "Completed" and body["starknet"]["error"]["code"] == "starknet_unavailable"

    old = check(key_client.get("/api/prover_key"), "/api/prover_key")["key_id"]
    call_command("rotate_prover_key", "--generate", str(tmp_path / "next.pem"))
    ring = check(key_client.get("/api/prover_key"), "/api/prover_key")
    assert {k["key_id"]: k["status"] for k in ring["keys"]} == {ring["key_id"]: "current", old: "retired"}


def test_a_lognormal_result_stored_before_the_dispersion_fields_still_renders():
    from fossil.schema import LognormalParamsSerializer

    old = {"sigma_step": 0.03, "volatility_lag": 14, "start_level": 3e10}
    assert LognormalParamsSerializer(old).data == old
