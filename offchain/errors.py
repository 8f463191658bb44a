"""What a client is told about a failed request: a stable code and a plain message.

The codes of a failed proof are handler.failures' (no_data, insufficient_data,
data_verification_failed, proof_rejected, prover_unavailable, time_limit, cancelled,
internal_error); two more say the request never reached the prover. The full story
(internal URLs, exception text, prover and upstream answers) is logged and kept for
operators in PricingRequest.error (the admin); a client sees only these. Failures about
the client's own data (a missing bucket, too few points) keep the engine's one-line
reason, which names only times and counts from the request (docs/security.md).
"""

from __future__ import annotations

from handler import failures

PROVING_SERVICE_UNAVAILABLE = "proving_service_unavailable"
PROVING_SERVICE_REFUSED = "proving_service_refused"
JOB_FAILED = "job_failed"

CLIENT_MESSAGES = {
    PROVING_SERVICE_UNAVAILABLE: "the proving service could not be reached; submit the request again later",
    PROVING_SERVICE_REFUSED: "the proving service did not accept the request",
    **failures.CLIENT_MESSAGES,
    JOB_FAILED: "the request failed",
}
_DETAIL_LIMIT = 300


def client_code_for_jobs(jobs: list[dict]) -> tuple[str, str]:
    """(code, client detail) for a failed group from its jobs as the proving API lists them:
    the cause of the job that failed for good (not its cancelled siblings), a data problem
    first, since running again will not fix it."""
    failed = [job for job in jobs if job.get("status") == "failed" and job.get("error_code") != failures.CANCELLED]
    failed.sort(key=lambda job: job.get("error_code") not in failures.ABOUT_THE_DATA)
    if not failed:
        return JOB_FAILED, ""
    job = failed[0]
    stored = str(job.get("error_code") or "")
    code = stored if failures.is_failure_code(stored) else JOB_FAILED
    if code in failures.ABOUT_THE_DATA:
        first_line = ((job.get("error_message") or "").splitlines() or [""])[0]
        detail = f"{job.get('metric')}: {first_line[:_DETAIL_LIMIT]}" if first_line else str(job.get("metric"))
        return code, detail
    return code, str(job.get("metric"))


def client_error(code: str, detail: str = "") -> str:
    message = CLIENT_MESSAGES.get(code) or failures.client_message(code) or CLIENT_MESSAGES[JOB_FAILED]
    return f"{message} ({detail})" if detail else message
