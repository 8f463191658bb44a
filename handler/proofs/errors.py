"""Typed errors of the proof side.

Every error has a stable ``code`` (stored on the job) and ``retryable`` (whether
the Celery task should try again). Messages are one line and name what failed.
"""

from __future__ import annotations

from typing import Any


class ProofError(Exception):
    code = "proof_error"
    retryable = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class ProofConfigurationError(ProofError):
    """Settings are missing or inconsistent (e.g. no API key for the Bonsai backend)."""

    code = "proof_config"


class ProofDeadlineExceeded(ProofError):
    """The overall proving deadline passed; the session was stopped. Retry later."""

    code = "proof_deadline"
    retryable = True


class BonsaiHttpError(ProofError):
    """A Bonsai/Bento HTTP call failed.

    Retryable iff the status is 5xx, the body names the concurrency limit
    (``SessionCreateErr``), or the request never got an answer (``status`` is None).
    """

    code = "bonsai_http"

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        body: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.body = body
        self.method = method
        self.url = url
        self.parsed: Any = None
        self.concurrency_limited = "SessionCreateErr" in body
        retryable = status is None or status >= 500 or self.concurrency_limited
        super().__init__(message, retryable=retryable)


class BonsaiSessionFailed(ProofError):
    """A session or SNARK job ended in FAILED / TIMED_OUT / ABORTED (or an unknown status)."""

    code = "bonsai_session_failed"
    retryable = False

    def __init__(self, message: str, *, status: str, error_msg: str | None, job_id: str = "") -> None:
        self.status = status
        self.error_msg = error_msg
        self.job_id = job_id
        super().__init__(message)


class ReceiptRejected(ProofError):
    """A downloaded receipt failed a check (kind, seal, selector, claim, image id, journal)."""

    code = "receipt_rejected"
    retryable = False


class ProofVerificationError(ProofError):
    """A proof record failed verification; the message names the failed check."""

    code = "proof_verification"
    retryable = False

    def __init__(self, check: str, detail: str = "") -> None:
        self.check = check
        super().__init__(f"{check}: {detail}" if detail else check)


class JournalDecodeError(ProofError):
    """Journal bytes do not decode (missing bytes, trailing bytes, bad field)."""

    code = "journal_decode"
    retryable = False


class ReceiptDecodeError(ReceiptRejected):
    """Receipt bytes do not parse as a bincode ``Receipt``."""

    code = "receipt_decode"


class PricingCheckFailed(ProofError):
    """The attested provider re-ran the pricing checks and they did not pass."""

    code = "pricing_check_failed"
    retryable = False


class StarknetCalldataUnavailable(ProofError):
    """garaga is not installed, or the record is not a Groth16 receipt."""

    code = "starknet_calldata_unavailable"
    retryable = False


#: the short name of each coprocessor program in a failure code (``program_failed:<short>``)
PROGRAM_CODES = {
    "hashing-felts": "hashing",
    "max-return-floating": "max_return",
    "twap-error-bound-floating": "twap",
    "remove-seasonality-error-bound-floating": "seasonality",
    "add-twap-7d-error-bound-floating": "twap_7d",
    "calculate-pt-pt1-error-bound-floating": "pt_pt1",
    "simulate-price-verify-position-floating": "simulate",
    "proof-composition-twap-maxreturn-reserveprice-floating-hashing": "composition",
}


class ProgramCheckFailed(ProofError):
    """One of the coprocessor's programs would refuse (or did refuse) the round: ``program`` and
    ``field`` name it, and so does the code (``program_failed:simulate``)."""

    code = "program_failed"
    retryable = False

    def __init__(self, program: str, field: str, message: str) -> None:
        super().__init__(f"{program}: {field}: {message}")
        self.program = program
        self.field = field
        self.code = f"program_failed:{PROGRAM_CODES.get(program, 'unknown')}"


class CalldataUnsupportedVersion(StarknetCalldataUnavailable):
    """The seal's verifier version has no Starknet calldata here (no verifying key for it)."""

    code = "calldata_unsupported_version"
