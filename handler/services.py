"""Message handler: run one job (claim, read data, compute, prove, store) exactly once in effect."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from fossil.observability import proof_timer
from fossil.queues import publish_on_commit
from handler import pricing
from handler.metrics import compute_metric
from handler.proofs.django_glue import get_provider, verify_before_store
from handler.proofs.errors import ProofError
from handler.proofs.records import ProofInputs
from handler.selectors import bucket_averages
from proving.models import Job, Proof
from proving.services import job_fail_exhausted

logger = logging.getLogger(__name__)

# The provider must give up this long before the soft limit, to leave time to record the outcome.
DEADLINE_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "skipped" | "succeeded" | "retry" | "failed"
    retry_in: float | None = None


class PermanentJobError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class TransientJobError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def job_claim(*, job_id: int) -> uuid.UUID | None:
    """Moves the job to running under a fresh lease; None if it is not claimable now."""
    now = timezone.now()
    token = uuid.uuid4()
    claimable = Q(status=Job.Status.PENDING) | Q(status=Job.Status.RUNNING, lease_expires_at__lt=now)
    claimed = (
        Job.objects.filter(claimable, pk=job_id, attempts__lt=F("max_attempts"))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1)))
        .update(
            status=Job.Status.RUNNING,
            attempts=F("attempts") + 1,
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=settings.JOB_LEASE_SECONDS),
            started_at=now,
            next_attempt_at=None,
        )
    )
    return token if claimed else None


def seconds_until_claimable(job_id: int) -> float | None:
    """For a delivery that could not claim: when to look again, or None if never.

    A job still leased by another (maybe dead) run, or waiting for its retry time, is
    looked at again later instead of being dropped: after a worker is killed, the
    redelivered message is what finishes the job once the dead run's lease lapses.
    """
    job = Job.objects.filter(pk=job_id).values("status", "lease_expires_at", "next_attempt_at", "attempts", "max_attempts").first()
    if job is None or job["status"] in (Job.Status.SUCCEEDED, Job.Status.FAILED):
        return None
    now = timezone.now()
    if job["status"] == Job.Status.RUNNING and job["lease_expires_at"]:
        lapses_at = job["lease_expires_at"]
        if job["attempts"] >= job["max_attempts"]:
            # no attempt left: look again when proving.services.job_fail_exhausted will fail it
            lapses_at += timedelta(seconds=settings.JOB_LEASE_SECONDS)
        return max(1.0, (lapses_at - now).total_seconds() + 1)
    if job["status"] == Job.Status.PENDING and job["next_attempt_at"] and job["attempts"] < job["max_attempts"]:
        return max(1.0, (job["next_attempt_at"] - now).total_seconds())
    return None


class LeaseKeeper(threading.Thread):
    """Renews the job's lease while its proof runs, like an activity heartbeat.

    A killed worker stops renewing, so its job becomes claimable within one lease
    period; a live one keeps it however long the proof takes (up to the time limit).
    """

    def __init__(self, job_id: int, token: uuid.UUID):
        super().__init__(name=f"lease-{job_id}", daemon=True)
        self.job_id, self.token = job_id, token
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(settings.JOB_LEASE_SECONDS / 3, 0.5)
        try:
            while not self.stopped.wait(interval):
                try:
                    Job.objects.filter(pk=self.job_id, lease_token=self.token, status=Job.Status.RUNNING).update(
                        lease_expires_at=timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)
                    )
                except DatabaseError:
                    logger.warning("job %s: lease renewal failed; will try again", self.job_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def job_run(*, job_id: int) -> RunOutcome:
    token = job_claim(job_id=job_id)
    if token is None:
        job_fail_exhausted(job_id=job_id)
        later = seconds_until_claimable(job_id)
        if later is not None:
            logger.info("job %s not claimable yet; looking again in %.0fs", job_id, later)
            return RunOutcome("retry", retry_in=min(later, settings.RETRY_BACKOFF_MAX))
        logger.info("job %s already finished; dropping this delivery", job_id)
        return RunOutcome("skipped")
    job = Job.objects.get(pk=job_id)
    deadline = time.monotonic() + settings.PROOF_SOFT_TIME_LIMIT - DEADLINE_MARGIN_SECONDS
    keeper = LeaseKeeper(job_id, token)
    keeper.start()
    try:
        result, record = _compute_and_prove(job, deadline)
    except PermanentJobError as exc:
        _job_fail(job, token, exc.code, str(exc))
        return RunOutcome("failed")
    except (TransientJobError, SoftTimeLimitExceeded, DatabaseError) as exc:
        code = getattr(exc, "code", "proof_timeout" if isinstance(exc, SoftTimeLimitExceeded) else "database_error")
        return _job_retry_or_fail(job, token, code, str(exc) or exc.__class__.__name__)
    except Exception as exc:  # an unexpected bug: bounded retries, then a recorded failure
        logger.exception("job %s raised unexpectedly", job_id)
        return _job_retry_or_fail(job, token, "internal_error", f"{exc.__class__.__name__}: {exc}")
    finally:
        keeper.stop()
    return _job_succeed(job, token, result, record)


def _compute_and_prove(job: Job, deadline: float) -> tuple[dict, dict]:
    bucket_seconds = pricing.bucket_seconds_for(job.start_timestamp, job.end_timestamp)
    rows = bucket_averages(job.start_timestamp, job.end_timestamp, bucket_seconds)
    try:
        series = pricing.check_contiguous(
            [row[0] for row in rows], [row[1] for row in rows], job.start_timestamp, job.end_timestamp, bucket_seconds
        )
        outcome = compute_metric(job.metric, series, num_paths=settings.MC_PATHS)
    except pricing.MissingBucket as exc:
        raise PermanentJobError("missing_block_data", str(exc)) from exc
    except pricing.InsufficientData as exc:
        raise PermanentJobError("insufficient_data", str(exc)) from exc
    except pricing.PricingError as exc:
        raise PermanentJobError("invalid_data", str(exc)) from exc
    inputs = ProofInputs(
        job_id=str(job.pk),
        metric=job.metric,
        window_start=job.start_timestamp,
        window_end=job.end_timestamp,
        value=outcome.value,
        data_commitment=tuple(outcome.result["data_commitment"]),
        series_timestamps=tuple(int(t) for t in series.timestamps),
        series_values=tuple(float(v) for v in series.values),
        claims=outcome.claims,
    )
    try:
        with proof_timer(settings.PROVER_BACKEND):
            record = get_provider().prove(inputs, deadline=deadline)
        verify_before_store(record)
    except ProofError as exc:
        if exc.retryable:
            raise TransientJobError(exc.code, str(exc)) from exc
        raise PermanentJobError(exc.code, str(exc)) from exc
    return outcome.result, record


# Storing a finished proof survives a short database outage (a Postgres restart): the
# proof is expensive, so the final transaction is retried on a fresh connection.
STORE_ATTEMPTS = 6


def _job_succeed(job: Job, token: uuid.UUID, result: dict, record) -> RunOutcome:
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            return _job_succeed_once(job, token, result, record)
        except IntegrityError:
            raise
        except DatabaseError as exc:  # psycopg2 reports a dropped server as DatabaseError/OperationalError
            if attempt == STORE_ATTEMPTS:
                raise
            logger.warning("job %s: storing the proof failed (%s); retrying on a new connection", job.pk, exc)
            connection.close()
            time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
    raise AssertionError("unreachable")


def _job_succeed_once(job: Job, token: uuid.UUID, result: dict, record) -> RunOutcome:
    record_json = record.to_json()
    with transaction.atomic():
        finished = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, lease_token=token).update(
            status=Job.Status.SUCCEEDED,
            result=result,
            finished_at=timezone.now(),
            lease_token=None,
            lease_expires_at=None,
            error_code="",
            error_message="",
        )
        if not finished:
            # Our lease lapsed and another run took over; its outcome is the one that counts.
            logger.warning("job %s: lease lost before completion; dropping this result", job.pk)
            return RunOutcome("skipped")
        try:
            with transaction.atomic():
                Proof.objects.create(
                    job_id=job.pk,
                    kind=record.kind,
                    image_id=record_json["image_id"],
                    claim_digest=record_json["claim_digest"],
                    journal=bytes(record.journal),
                    record=record_json,
                )
        except IntegrityError:
            logger.warning("job %s already has a proof; keeping the first", job.pk)
        _publish_outcome_on_commit(job.pk)
    return RunOutcome("succeeded")


def _job_fail(job: Job, token: uuid.UUID, code: str, message: str) -> None:
    with transaction.atomic():
        failed = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, lease_token=token).update(
            status=Job.Status.FAILED,
            error_code=code,
            error_message=message[:4000],
            finished_at=timezone.now(),
            lease_token=None,
            lease_expires_at=None,
        )
        if failed:
            logger.warning("job %s failed for good: %s: %s", job.pk, code, message)
            _publish_outcome_on_commit(job.pk)


def _job_retry_or_fail(job: Job, token: uuid.UUID, code: str, message: str) -> RunOutcome:
    job.refresh_from_db(fields=["attempts", "max_attempts"])
    if job.attempts >= job.max_attempts:
        _job_fail(job, token, code, f"gave up after {job.attempts} attempts; last error: {message}")
        return RunOutcome("failed")
    delay = min(settings.RETRY_BACKOFF_BASE ** job.attempts, settings.RETRY_BACKOFF_MAX)
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, lease_token=token).update(
        status=Job.Status.PENDING,
        error_code=code,
        error_message=message[:4000],
        lease_token=None,
        lease_expires_at=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    logger.info("job %s attempt %s failed (%s); retrying in %.0fs", job.pk, job.attempts, code, delay)
    return RunOutcome("retry", retry_in=delay)


def _publish_outcome_on_commit(job_id: int) -> None:
    from proving.tasks import record_job_outcome

    publish_on_commit(record_job_outcome, job_id)
