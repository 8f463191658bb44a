"""What a client is told about a failed request: a stable code and a plain message.

The full story (internal URLs, exception text, prover and upstream answers) is logged and
kept for operators in PricingRequest.error (the admin); a client sees only these. Failures
about the client's own data (a missing bucket, too few points) keep the engine's one-line
reason, which names only times and counts from the request (docs/security.md).
"""

from __future__ import annotations

PROVING_SERVICE_UNAVAILABLE = "proving_service_unavailable"
PROVING_SERVICE_REFUSED = "proving_service_refused"
PROVER_FAILED = "prover_failed"
MISSING_BLOCK_DATA = "missing_block_data"
INSUFFICIENT_DATA = "insufficient_data"
INVALID_DATA = "invalid_data"
JOB_FAILED = "job_failed"

CLIENT_MESSAGES = {
    PROVING_SERVICE_UNAVAILABLE: "the proving service could not be reached; submit the request again later",
    PROVING_SERVICE_REFUSED: "the proving service did not accept the request",
    PROVER_FAILED: "the proof could not be produced; submit the request again later",
    MISSING_BLOCK_DATA: "block data is missing for part of the requested range",
    INSUFFICIENT_DATA: "the requested range has too few data points for this metric",
    INVALID_DATA: "the block data of the requested range cannot be priced",
    JOB_FAILED: "the request failed",
}
# Job error codes whose message speaks only of the client's own range, so it may be shown.
DATA_CODES = (MISSING_BLOCK_DATA, INSUFFICIENT_DATA, INVALID_DATA)
_DETAIL_LIMIT = 300


def client_code_for_jobs(jobs: list[dict]) -> tuple[str, str]:
    """(code, client detail) for a failed group from its jobs as the proving API lists them:
    a data problem wins over a prover failure, since running again will not fix it."""
    failed = [job for job in jobs if job.get("status") == "failed"]
    for job in failed:
        if job.get("error_code") in DATA_CODES:
            first_line = ((job.get("error_message") or "").splitlines() or [""])[0]
            detail = f"{job.get('metric')}: {first_line[:_DETAIL_LIMIT]}" if first_line else str(job.get("metric"))
            return job["error_code"], detail
    return (PROVER_FAILED, "") if failed else (JOB_FAILED, "")


def client_error(code: str, detail: str = "") -> str:
    message = CLIENT_MESSAGES.get(code, CLIENT_MESSAGES[JOB_FAILED])
    return f"{message} ({detail})" if detail else message
