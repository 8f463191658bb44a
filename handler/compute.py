"""Compute and prove one metric over one window: block data in, result and proof record out.

Knows nothing of jobs, leases or queues (proving.runner drives it). Errors come out as
PermanentJobError (running again gives the same answer) or TransientJobError (worth
another attempt), each with one of handler.failures' codes, stored on the job.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from django.conf import settings

from fossil.observability import proof_timer
from handler import failures, pricing
from handler.metrics import compute_metric
from handler.pricing.vault import VaultPricingError
from handler.proofs.django_glue import configured_public_key, get_provider, verify_before_store
from handler.proofs.errors import (
    PROGRAM_CODES,
    BonsaiHttpError,
    BonsaiSessionFailed,
    PricingCheckFailed,
    ProgramCheckFailed,
    ProofConfigurationError,
    ProofDeadlineExceeded,
    ProofError,
)
from handler.proofs.keys import key_id
from handler.proofs.records import ProofInputs, ProofRecord
from handler.prover_keys import SigningKeyNotCurrent, checked_signer
from handler.round_jobs import RoundHistoryMissing, is_round_job, round_job
from handler.selectors import bucket_averages

logger = logging.getLogger(__name__)


class PermanentJobError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class TransientJobError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# Bumped whenever a change makes the same inputs give a different result or proof (the
# reserve price's seed comes from the data commitment and the parameters: docs/pricing.md).
COMPUTATION_RULES = "fossil-compute-1"


@dataclass(frozen=True)
class MetricInputs:
    """What one metric over one window is computed from: its bucket series and their commitment."""

    metric: str
    start_timestamp: int
    end_timestamp: int
    series: pricing.BucketSeries
    data_commitment: list[int]

    @property
    def computation_key(self) -> str:
        """Equal for identical computations (same metric, range, parameters, seed rule and
        data), whoever asks: the proving service computes and proves each key once."""
        canonical = {
            "rules": COMPUTATION_RULES,
            "metric": self.metric,
            "range": [self.start_timestamp, self.end_timestamp],
            "bucket_seconds": self.series.bucket_seconds,
            "data_commitment": self.data_commitment,
            "num_paths": settings.MC_PATHS,
            "prover": settings.PROVER_BACKEND,
            "journal": settings.PROOF_JOURNAL_FORMAT,
            # a record is shared only by machines that sign with the same key: after a rotation
            # the retired key's records are never copied into new jobs (they could not be stored)
            "signer": _signer_key_id(),
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _signer_key_id() -> str | None:
    public_key = configured_public_key() if settings.PROVER_BACKEND == "attested" else None
    return key_id(public_key) if public_key is not None else None


def metric_inputs(*, metric: str, start_timestamp: int, end_timestamp: int) -> MetricInputs | None:
    """Reads the window's bucket series (raises PermanentJobError when it has gaps); None for
    a vault round's job, which is priced from the round's own inputs (handler.round_jobs)."""
    if is_round_job(metric, start_timestamp, end_timestamp):
        return None
    return _engine_inputs(metric, start_timestamp, end_timestamp)


def compute_and_prove(
    *,
    proof_id: str,
    metric: str,
    start_timestamp: int,
    end_timestamp: int,
    deadline: float,
    inputs: MetricInputs | None = None,
) -> tuple[dict, ProofRecord]:
    """The metric's JSON result and its verified proof record; the prover gives up at deadline
    (time.monotonic()). proof_id names the proof (the job id) in its inputs; `inputs`, when
    the caller already read them (metric_inputs), are not read again."""
    if inputs is None and is_round_job(metric, start_timestamp, end_timestamp):
        try:
            result, round_inputs = round_job(proof_id, metric, start_timestamp, end_timestamp)
        except RoundHistoryMissing as exc:
            logger.info("job %s: not a provable round (%s); priced by the engine", proof_id, exc)
        except pricing.MissingBucket as exc:
            raise PermanentJobError(failures.NO_DATA, str(exc)) from exc
        except VaultPricingError as exc:  # a program would refuse the round: name it
            raise PermanentJobError(
                failures.program_failed(PROGRAM_CODES.get(exc.program, "unknown")), str(exc)
            ) from exc
        except pricing.PricingError as exc:
            raise PermanentJobError(failures.DATA_VERIFICATION_FAILED, str(exc)) from exc
        else:
            return result, _prove(round_inputs, deadline)
    if inputs is None:
        inputs = _engine_inputs(metric, start_timestamp, end_timestamp)
    series = inputs.series
    try:
        outcome = compute_metric(metric, series, num_paths=settings.MC_PATHS, commitment=inputs.data_commitment)
    except pricing.InsufficientData as exc:
        raise PermanentJobError(failures.INSUFFICIENT_DATA, str(exc)) from exc
    except pricing.PricingError as exc:
        raise PermanentJobError(failures.DATA_VERIFICATION_FAILED, str(exc)) from exc
    proof_inputs = ProofInputs(
        job_id=proof_id,
        metric=metric,
        window_start=start_timestamp,
        window_end=end_timestamp,
        value=outcome.value,
        data_commitment=tuple(outcome.result["data_commitment"]),
        series_timestamps=tuple(int(t) for t in series.timestamps),
        series_values=tuple(float(v) for v in series.values),
        claims=outcome.claims,
    )
    return outcome.result, _prove(proof_inputs, deadline)


def _engine_inputs(metric: str, start_timestamp: int, end_timestamp: int) -> MetricInputs:
    """The bucket series of a window priced by the engine (a round's job whose earlier hours are
    missing falls back to it too)."""
    bucket_seconds = pricing.bucket_seconds_for(start_timestamp, end_timestamp)
    rows = bucket_averages(start_timestamp, end_timestamp, bucket_seconds)
    if not rows:
        raise PermanentJobError(failures.NO_DATA, f"no block data in [{start_timestamp}, {end_timestamp})")
    try:
        series = pricing.check_contiguous(
            [row[0] for row in rows], [row[1] for row in rows], start_timestamp, end_timestamp, bucket_seconds
        )
        commitment = pricing.data_commitment([pricing.float_to_felt(float(v)) for v in series.values])
    except pricing.MissingBucket as exc:
        raise PermanentJobError(failures.NO_DATA, str(exc)) from exc
    except pricing.InsufficientData as exc:
        raise PermanentJobError(failures.INSUFFICIENT_DATA, str(exc)) from exc
    except pricing.PricingError as exc:
        raise PermanentJobError(failures.DATA_VERIFICATION_FAILED, str(exc)) from exc
    return MetricInputs(metric, start_timestamp, end_timestamp, series, commitment)


def _prove(inputs: ProofInputs, deadline: float) -> ProofRecord:
    try:
        with proof_timer(settings.PROVER_BACKEND):
            record = checked_signer(get_provider()).prove(inputs, deadline=deadline)
        verify_before_store(record)
    except SigningKeyNotCurrent:
        raise  # not the job's failure: this machine must not sign (proving.runner hands the job back)
    except ProofError as exc:
        # the prover's own code stays in the message: the failure code says what it means
        failure = TransientJobError if exc.retryable else PermanentJobError
        raise failure(proof_failure_code(exc), f"{exc.code}: {exc}") from exc
    return record


def proof_failure_code(exc: ProofError) -> str:
    if isinstance(exc, ProgramCheckFailed):
        return exc.code  # program_failed:<program>
    if isinstance(exc, ProofDeadlineExceeded) or (isinstance(exc, BonsaiSessionFailed) and exc.status == "TIMED_OUT"):
        return failures.TIME_LIMIT
    if isinstance(exc, PricingCheckFailed):
        return failures.DATA_VERIFICATION_FAILED
    if isinstance(exc, (BonsaiHttpError, ProofConfigurationError)) or exc.retryable:
        return failures.PROVER_UNAVAILABLE
    return failures.PROOF_REJECTED
