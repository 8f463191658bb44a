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
