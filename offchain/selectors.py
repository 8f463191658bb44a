"""Offchain processor reads."""

from __future__ import annotations

import logging
from typing import Any

from handler.proofs.coprocessor.starknet import job_status_starknet
from offchain import errors
from offchain.models import ApiKey, PricingRequest
from offchain.services import hash_api_key

logger = logging.getLogger(__name__)

STATUS_MESSAGES: dict[str, str] = {
    PricingRequest.Status.PENDING: "Job is being processed",
    PricingRequest.Status.COMPLETED: "Job completed",
    PricingRequest.Status.FAILED: "Job failed",
}


def api_key_for(raw_key: str) -> ApiKey | None:
    return ApiKey.objects.filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True).first()


def pricing_request_get(job_id: str, *, api_key: ApiKey) -> PricingRequest | None:
    """The request if this key made it; another key's request is as unknown as a missing one."""
    return PricingRequest.objects.filter(job_id=job_id, api_key=api_key).first()


def job_request_triple(request: PricingRequest) -> list[str]:
    """[vault_address, timestamp, program_id] as the vault's fossil_callback takes them (felts)."""
    return [request.client_info["vault_address"], hex(request.client_info["timestamp"]), request.identifiers[0]]


def pricing_request_status(request: PricingRequest) -> dict:
    body: dict[str, Any] = {
        "job_id": request.job_id,
        "status": request.status,
        "message": STATUS_MESSAGES[request.status],
        "created_at": request.created_at.isoformat(),
    }
    if request.status == PricingRequest.Status.FAILED:
        # Never request.error: that is the operators' full story (offchain/errors.py).
        body["error_code"] = request.error_code or errors.JOB_FAILED
        body["error"] = request.client_error or errors.client_error(body["error_code"])
    if request.status == PricingRequest.Status.COMPLETED and request.results:
        metrics = request.results["metrics"]
        body["completed_at"] = request.completed_at.isoformat() if request.completed_at else None
        body["results"] = {metric: entry["result"] for metric, entry in metrics.items()}
        body["job_request"] = job_request_triple(request)
        body["vault_result"] = request.results.get("vault_result")
        body["receipts"] = {metric: entry["receipt"] for metric, entry in metrics.items()}
        body["composition"] = {
            "journal": request.results.get("composition_journal"),
            "proof": request.results.get("composition_proof"),
        }
        body["rules"] = request.results.get("rules") or "engine"
        body["verifiable_on_chain"] = bool(request.results.get("verifiable_on_chain"))
        if body["verifiable_on_chain"]:
            body["composition"]["verify_proof_calldata"] = _composition_calldata(request)
        else:
            body["not_verifiable_reason"] = request.results.get("not_verifiable_reason") or (
                "completed before on-chain verifiability was recorded"
            )
        if all(body["receipts"].values()):
            body["starknet"] = _starknet_block(request, body["receipts"], metrics)
    return body


def _composition_calldata(request: PricingRequest):
    """The vault verifier's ``verify_proof`` calldata: the composition proof's garaga calldata
    (computed when it was stored) followed by the job request, or the stored reason it has none."""
    stored = (request.results or {}).get("composition_calldata") or {}
    if "calldata" not in stored:
        return stored if "error" in stored else {"error": {"code": "calldata_not_computed", "message": "none stored"}}
    return [*stored["calldata"], *(hex(int(felt, 16)) for felt in job_request_triple(request))]


def _starknet_block(request: PricingRequest, receipts: dict, metrics: dict) -> dict:
    """Built from what was stored with each proof; a proof that cannot give calldata is reported
    in the body, never as a failed request (garaga never runs on a status read)."""
    try:
        return job_status_starknet(
            receipts,
            vault_address=request.client_info["vault_address"],
            timestamp=request.client_info["timestamp"],
            program_id=request.identifiers[0],
            calldata={metric: entry.get("starknet_calldata") for metric, entry in metrics.items()},
            vault_result=(request.results or {}).get("vault_result"),
        )
    except Exception as exc:  # noqa: BLE001 - the status must answer whatever the stored proof holds
        logger.warning("job %s: starknet block unavailable: %s", request.job_id, exc)
        return {"error": {"code": "starknet_unavailable", "message": "the stored proofs give no Starknet calldata"}}
