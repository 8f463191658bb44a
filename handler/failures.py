"""The failure codes of a job, as both services report them (docs/api.md, "Failure codes").

One code per cause a client can act on; the job's error_message keeps the detail (the
engine's or prover's own code first, e.g. "bonsai_http: ..."). Only RETRYABLE causes are
tried again (up to JOB_MAX_ATTEMPTS); every other one fails the job at its first attempt,
and a job that fails for good fails its group and cancels its sibling jobs.
"""

from __future__ import annotations

NO_DATA = "no_data"  # no block data for part of the range
INSUFFICIENT_DATA = "insufficient_data"  # too few points in the range for the metric
DATA_VERIFICATION_FAILED = "data_verification_failed"  # the block data (or its re-check) does not hold
PROOF_REJECTED = "proof_rejected"  # the prover's proof or receipt failed verification
PROVER_UNAVAILABLE = "prover_unavailable"  # the prover could not be reached, or kept failing
TIME_LIMIT = "time_limit"  # the proof did not finish within the time limit
CANCELLED = "cancelled"  # another job of the group failed for good: this one was not proved
INTERNAL_ERROR = "internal_error"  # an unexpected error in the proving service

CODES = (
    NO_DATA,
    INSUFFICIENT_DATA,
    DATA_VERIFICATION_FAILED,
    PROOF_REJECTED,
    PROVER_UNAVAILABLE,
    TIME_LIMIT,
    CANCELLED,
    INTERNAL_ERROR,
)
# A vault round's coprocessor program would refuse the round (its rules, docs/proofs.md):
# "program_failed:<program>", the program's short name (handler.proofs.errors.PROGRAM_CODES).
PROGRAM_FAILED_PREFIX = "program_failed:"


def program_failed(program: str) -> str:
    return PROGRAM_FAILED_PREFIX + program


def is_failure_code(code: str) -> bool:
    return code in CODES or code.startswith(PROGRAM_FAILED_PREFIX)


# Causes that another attempt can fix: a prover that is down or overloaded, a proof cut
# off by the time limit, a bug that depends on timing.
RETRYABLE = frozenset({PROVER_UNAVAILABLE, TIME_LIMIT, INTERNAL_ERROR})
# Causes about the client's own range: the message names only its times and counts.
ABOUT_THE_DATA = frozenset({NO_DATA, INSUFFICIENT_DATA, DATA_VERIFICATION_FAILED})

CLIENT_MESSAGES = {
    NO_DATA: "there is no block data for part of the requested range; the same request cannot succeed",
    INSUFFICIENT_DATA: "the requested range has too few data points for this metric; the same request cannot succeed",
    DATA_VERIFICATION_FAILED: "the block data of the requested range did not pass its checks",
    PROOF_REJECTED: "the prover's proof failed verification and was not stored",
    PROVER_UNAVAILABLE: "the prover could not be reached or kept failing; submit the request again later",
    TIME_LIMIT: "the proof did not finish within the time limit; submit the request again later",
    CANCELLED: "not proved: another metric of the request failed for good",
    INTERNAL_ERROR: "an unexpected error stopped the proof; submit the request again later",
}
PROGRAM_FAILED_MESSAGE = "a coprocessor program's rules refuse the round's data; the same request cannot succeed"


def client_message(code: str) -> str | None:
    if code.startswith(PROGRAM_FAILED_PREFIX):
        return PROGRAM_FAILED_MESSAGE
    return CLIENT_MESSAGES.get(code)
