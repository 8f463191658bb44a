"""Every write to a Job: its lifecycle, owned here and nowhere else.

Each transition is one conditional UPDATE guarded by the state it leaves (and, for a
run's own moves, by its lease token), so two deliveries of the same message, a stale
worker and the reconciler can race and only one of them wins.

    from                 to          by                        guard
    -                    pending     jobs_create               (new group)
    pending              running     job_claim                 attempts left, retry time reached
    running (lapsed)     running     job_claim                 lease expired, attempts left
    running              running     job_renew_lease           lease token (extends the lease only)
    running              succeeded   job_succeed (+ Proof)     lease token
    running              pending     job_retry_or_fail         lease token, attempts left (backoff)
    running              pending     job_release               lease token (wrong signing key here; attempt given back)
    running              failed      job_fail / job_retry_or_fail   lease token
    pending / running    failed      job_fail_exhausted        attempts used up, last lease long lapsed
    pending / running    failed      jobs_cancel_unfinished    a sibling failed for good (code cancelled)
    pending / failed     pending     job_reset_for_replay      not running, not succeeded
    not succeeded        pending     jobs_reset_unfinished     the group's rerun (group row locked)

A succeeded job never changes again: its proof stands. dispatched_at (when its message
was last published) is bookkeeping, not a state, and is set by job_mark_dispatched.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from fossil import dispatch
from fossil.exceptions import Conflict, NotFound
from handler import failures, prover_keys
from handler.proofs.coprocessor.starknet import proof_calldata
from handler.proofs.records import ProofRecord
from proving.models import METRICS, Job, JobGroup, Proof

logger = logging.getLogger(__name__)

# Storing a finished proof survives a short database outage (a Postgres restart): the
# proof is expensive, so the final transaction is retried on a fresh connection.
STORE_ATTEMPTS = 6
# How often a run waiting for an identical computation looks whether it is its turn.
COMPUTATION_WAIT_SECONDS = 0.05

RESETTABLE = dict(
    status=Job.Status.PENDING,
    attempts=0,
    lease_token=None,
    lease_expires_at=None,
    next_attempt_at=None,
    dispatched_at=None,
    error_code="",
    error_message="",
    started_at=None,
    finished_at=None,
    result=None,
)


def jobs_create(*, group: JobGroup, ranges: dict[str, tuple[int, int]]) -> list[Job]:
    """The group's jobs, one per metric, pending."""
    return Job.objects.bulk_create(
        Job(
            group=group,
            metric=metric,
            start_timestamp=ranges[metric][0],
            end_timestamp=ranges[metric][1],
            max_attempts=settings.JOB_MAX_ATTEMPTS,
        )
        for metric in METRICS
    )


def job_mark_dispatched(*, job_id: int) -> None:
    Job.objects.filter(pk=job_id).update(dispatched_at=timezone.now())


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


def job_renew_lease(*, job_id: int, token: uuid.UUID) -> bool:
    """Extends the lease of the run holding token; False if that run lost it."""
    renewed = Job.objects.filter(pk=job_id, lease_token=token, status=Job.Status.RUNNING).update(
        lease_expires_at=timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)
    )
    return bool(renewed)


def seconds_until_claimable(job_id: int) -> float | None:
    """For a delivery that could not claim: when to look again, or None if never.

    A job still leased by another (maybe dead) run, or waiting for its retry time, is
    looked at again later instead of being dropped: after a worker is killed, the
    redelivered message is what finishes the job once the dead run's lease lapses.
    """
    job = (
        Job.objects.filter(pk=job_id)
        .values("status", "lease_expires_at", "next_attempt_at", "attempts", "max_attempts")
        .first()
    )
    if job is None or job["status"] in (Job.Status.SUCCEEDED, Job.Status.FAILED):
        return None
    now = timezone.now()
    if job["status"] == Job.Status.RUNNING and job["lease_expires_at"]:
        lapses_at = job["lease_expires_at"]
        if job["attempts"] >= job["max_attempts"]:
            # no attempt left: look again when job_fail_exhausted will fail it
            lapses_at += timedelta(seconds=settings.JOB_LEASE_SECONDS)
        return max(1.0, (lapses_at - now).total_seconds() + 1)
    if job["status"] == Job.Status.PENDING and job["next_attempt_at"] and job["attempts"] < job["max_attempts"]:
        return max(1.0, (job["next_attempt_at"] - now).total_seconds())
    return None


def job_succeed(*, job_id: int, token: uuid.UUID, result: dict, record: ProofRecord, computation_key: str = "") -> bool:
    """Stores the result and its proof; False if the lease was lost (another run counts).

    With a computation_key, this job is the one that ran that computation; if another job
    stored it first (two runs raced past computation_turn), this one takes that job's result
    and proof instead (the unique constraint decides)."""
    starknet = proof_calldata(record)  # once, here: status reads only copy it (docs/proofs.md)
    record_json = record.to_json()
    proof = dict(
        kind=record.kind,
        image_id=record_json["image_id"],
        claim_digest=record_json["claim_digest"],
        journal=bytes(record.journal),
        record=record_json,
        starknet=starknet,
    )
    computation = dict(computation_key=computation_key, computed=bool(computation_key))
    try:
        return _store_with_retries(job_id, token, result, proof, computation)
    except IntegrityError:
        if computation_key:
            shared = job_share_computation(job_id=job_id, token=token, computation_key=computation_key)
            if shared is not None:
                return shared
        raise


def job_share_computation(*, job_id: int, token: uuid.UUID, computation_key: str) -> bool | None:
    """Succeeds the job with the result and proof of the job that already ran the identical
    computation; None if none did (the caller computes), else whether it was stored."""
    source = (
        Job.objects.filter(computation_key=computation_key, computed=True, status=Job.Status.SUCCEEDED)
        .select_related("proof")
        .first()
    )
    if source is None or getattr(source, "proof", None) is None or source.pk == job_id:
        return None
    proof = {
        field: getattr(source.proof, field)
        for field in ("kind", "image_id", "claim_digest", "journal", "record", "starknet")
    }
    computation = dict(computation_key=computation_key, computed=False, shared_from_id=source.pk)
    stored = _store_with_retries(job_id, token, source.result or {}, proof, computation)
    if stored:
        logger.info("job %s took the result and proof of job %s (same computation)", job_id, source.pk)
    return stored


@contextmanager
def computation_turn(computation_key: str, *, deadline: float) -> Iterator[None]:
    """One run at a time per computation key (a Postgres session advisory lock, released
    with its connection if the worker dies): a second run of the same computation waits,
    then finds the first one's result (job_share_computation) instead of computing again."""
    lock_id = int.from_bytes(bytes.fromhex(computation_key[:16]), "big", signed=True)
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
            if cursor.fetchone()[0]:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"computation {computation_key[:12]} stayed busy past the deadline")
            time.sleep(COMPUTATION_WAIT_SECONDS)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
        except DatabaseError:  # the connection is gone, and the lock with it
            pass


def _store_with_retries(job_id: int, token: uuid.UUID, result: dict, proof: dict, computation: dict) -> bool:
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            return _job_succeed_once(job_id, token, result, proof, computation)
        except IntegrityError:
            raise
        except DatabaseError as exc:  # psycopg2 reports a dropped server as DatabaseError/OperationalError
            if attempt == STORE_ATTEMPTS:
                raise
            logger.warning("job %s: storing the proof failed (%s); retrying on a new connection", job_id, exc)
            connection.close()
            time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
    raise AssertionError("unreachable")


def _job_succeed_once(job_id: int, token: uuid.UUID, result: dict, proof: dict, computation: dict) -> bool:
    group_id = Job.objects.filter(pk=job_id).values_list("group_id", flat=True).get()
    with transaction.atomic():
        key_id = (proof.get("record") or {}).get("key_id") if proof.get("kind") == "attested" else None
        if key_id:
            # a record signed by a key retired meanwhile is never stored (raises SigningKeyNotCurrent)
            prover_keys.lock_signing_key_for_store(key_id)
        # Finishes of one group's jobs take turns on the group row, so the last one to commit
        # sees its siblings finished and is the one that publishes the group's outcome.
        JobGroup.objects.select_for_update().filter(pk=group_id).values_list("pk", flat=True).first()
        finished = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, lease_token=token).update(
            status=Job.Status.SUCCEEDED,
            result=result,
            finished_at=timezone.now(),
            lease_token=None,
            lease_expires_at=None,
            error_code="",
            error_message="",
            **computation,
        )
        if not finished:
            # Our lease lapsed and another run took over; its outcome is the one that counts.
            logger.warning("job %s: lease lost before completion; dropping this result", job_id)
            return False
        try:
            with transaction.atomic():
                Proof.objects.create(job_id=job_id, **proof)
        except IntegrityError:
            logger.warning("job %s already has a proof; keeping the first", job_id)
        if not _unfinished_siblings(group_id).exists():
            dispatch.send_on_commit(dispatch.RECORD_JOB_OUTCOME, job_id)
    return True


def _unfinished_siblings(group_id: str) -> QuerySet[Job]:
    """A success completes nothing while another job of its group still runs: one outcome
    message per group, from its last job (a failure is reported at once, job_fail)."""
    return Job.objects.filter(group_id=group_id).exclude(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED])


def job_fail(*, job_id: int, token: uuid.UUID, code: str, message: str) -> None:
    with transaction.atomic():
        failed = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, lease_token=token).update(
            status=Job.Status.FAILED,
            error_code=code,
            error_message=message[:4000],
            finished_at=timezone.now(),
            lease_token=None,
            lease_expires_at=None,
        )
        if failed:
            logger.warning("job %s failed for good: %s: %s", job_id, code, message)
            dispatch.send_on_commit(dispatch.RECORD_JOB_OUTCOME, job_id)


def job_release(*, job_id: int, token: uuid.UUID) -> bool:
    """Hands a claimed job back untouched, its attempt given back: this machine cannot run it
    (its signing key is not the current one), another one can, at once."""
    released = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, lease_token=token).update(
        status=Job.Status.PENDING,
        attempts=F("attempts") - 1,
        lease_token=None,
        lease_expires_at=None,
        next_attempt_at=None,
    )
    return bool(released)


def job_retry_or_fail(*, job_id: int, token: uuid.UUID, code: str, message: str) -> float | None:
    """Puts the job back to pending after a backoff, or fails it on its last attempt.

    Returns the backoff in seconds, or None if the job failed for good."""
    attempts, max_attempts = Job.objects.values_list("attempts", "max_attempts").get(pk=job_id)
    if attempts >= max_attempts:
        job_fail(
            job_id=job_id, token=token, code=code, message=f"gave up after {attempts} attempts; last error: {message}"
        )
        return None
    delay = min(settings.RETRY_BACKOFF_BASE**attempts, settings.RETRY_BACKOFF_MAX)
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, lease_token=token).update(
        status=Job.Status.PENDING,
        error_code=code,
        error_message=message[:4000],
        lease_token=None,
        lease_expires_at=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    logger.info("job %s attempt %s failed (%s); retrying in %.0fs", job_id, attempts, code, delay)
    return delay


def exhausted_jobs_filter(now: datetime) -> Q:
    """Jobs that used up their attempts and can never be claimed again: pending, or running
    under a lease that lapsed more than one lease period ago (its worker is gone; a live
    one would have renewed it)."""
    lease = timedelta(seconds=settings.JOB_LEASE_SECONDS)
    dead = Q(status=Job.Status.RUNNING, lease_expires_at__lt=now - lease) | Q(status=Job.Status.PENDING)
    return dead & Q(attempts__gte=F("max_attempts"))


def job_fail_exhausted(*, job_id: int, now: datetime | None = None) -> bool:
    """Fails such a job with its last error, and has its group told once committed."""
    now = now or timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update(skip_locked=True).filter(exhausted_jobs_filter(now), pk=job_id).first()
        if job is None:
            return False
        message = (
            f"the job used up its {job.max_attempts} attempts without finishing (worker lost, crashed or "
            f"timed out); last error: {job.error_code or 'worker lost'}"
        )
        if job.error_message:
            message += f": {job.error_message}"
        # the last attempt's cause, if it had one; a worker that died mid-proof left none
        code = job.error_code if failures.is_failure_code(job.error_code) else failures.PROVER_UNAVAILABLE
        Job.objects.filter(exhausted_jobs_filter(now), pk=job_id).update(
            status=Job.Status.FAILED,
            error_code=code,
            error_message=message[:4000],
            finished_at=now,
            lease_token=None,
            lease_expires_at=None,
            next_attempt_at=None,
        )
        logger.warning("job %s failed: %s", job_id, message)
        dispatch.send_on_commit(dispatch.RECORD_JOB_OUTCOME, job_id)
    return True


def jobs_cancel_unfinished(*, group_id: str, reason: str) -> int:
    """Fails the group's pending and running jobs with code cancelled: once one job failed
    for good the group cannot complete, so they are not proved (a running one loses its
    lease, so its result is dropped). Run in the transaction that fails the group."""
    return Job.objects.filter(group_id=group_id, status__in=[Job.Status.PENDING, Job.Status.RUNNING]).update(
        status=Job.Status.FAILED,
        error_code=failures.CANCELLED,
        error_message=reason[:4000],
        finished_at=timezone.now(),
        lease_token=None,
        lease_expires_at=None,
        next_attempt_at=None,
    )


def job_reset_for_replay(*, job_id: int) -> Job:
    """Makes a failed (or stuck pending) job runnable again with fresh attempts.

    proving.services.job_replay calls it in the transaction that also reopens the group."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"no job {job_id}")
        if job.status == Job.Status.SUCCEEDED:
            raise Conflict(f"job {job_id} already succeeded; its proof stands")
        if job.status == Job.Status.RUNNING:
            raise Conflict(f"job {job_id} is running (attempt {job.attempts})")
        Job.objects.filter(pk=job_id, status__in=[Job.Status.PENDING, Job.Status.FAILED]).update(**RESETTABLE)
    return job


def jobs_reset_unfinished(*, group_id: str) -> list[int]:
    """A rerun: every job of the group that has not succeeded starts again with fresh
    attempts (a still-running one loses its lease, so its late result is dropped).
    Run under the caller's lock on the group row."""
    unfinished = Job.objects.filter(group_id=group_id).exclude(status=Job.Status.SUCCEEDED)
    job_ids = list(unfinished.values_list("pk", flat=True))
    unfinished.filter(pk__in=job_ids).update(**RESETTABLE)
    return job_ids
