"""One delivery of a prove_job message: claim the job, compute and prove, record the outcome.

Runs exactly once in effect: a delivery that cannot claim the job (finished, leased by a
live run, waiting for its retry time) records nothing; the job's transitions are
proving.jobs' guarded updates.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection

from fossil import log_context
from fossil.observability import record_job_run
from handler import failures
from handler.compute import PermanentJobError, TransientJobError, compute_and_prove, metric_inputs
from handler.prover_keys import SigningKeyNotCurrent
from proving import jobs
from proving.models import Job

logger = logging.getLogger(__name__)

# The provider must give up this long before the soft limit, to leave time to record the outcome.
DEADLINE_MARGIN_SECONDS = 5
# A job handed back by a machine with the wrong key comes back on the queue this much later:
# by then that machine's workers have stopped consuming (handler/signing_key_guard.py).
KEY_HANDBACK_SECONDS = 10


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "skipped" | "succeeded" | "retry" | "failed"
    retry_in: float | None = None


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
                    jobs.job_renew_lease(job_id=self.job_id, token=self.token)
                except DatabaseError:
                    logger.warning("job %s: lease renewal failed; will try again", self.job_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def job_run(*, job_id: int) -> RunOutcome:
    token = jobs.job_claim(job_id=job_id)
    if token is None:
        jobs.job_fail_exhausted(job_id=job_id)
        later = jobs.seconds_until_claimable(job_id)
        if later is not None:
            logger.info("job %s not claimable yet; looking again in %.0fs", job_id, later)
            return RunOutcome("retry", retry_in=min(later, settings.RETRY_BACKOFF_MAX))
        logger.info("job %s already finished; dropping this delivery", job_id)
        return RunOutcome("skipped")
    job = Job.objects.get(pk=job_id)
    deadline = time.monotonic() + settings.PROOF_SOFT_TIME_LIMIT - DEADLINE_MARGIN_SECONDS
    keeper = LeaseKeeper(job_id, token)
    keeper.start()
    stage = Stage()
    try:
        return _compute_once(job, token, deadline, stage)
    except SigningKeyNotCurrent as exc:  # this machine must not sign, or the key was retired meanwhile
        return _hand_back(job_id, token, exc)
    except DatabaseError as exc:
        if stage.storing:  # the proof is made: the task retries the delivery (proving.tasks.prove_job)
            raise
        return _retry_or_fail(job_id, token, failures.INTERNAL_ERROR, f"database error: {exc.__class__.__name__}")
    except PermanentJobError as exc:
        jobs.job_fail(job_id=job_id, token=token, code=exc.code, message=str(exc))
        return RunOutcome("failed")
    except TransientJobError as exc:
        return _retry_or_fail(job_id, token, exc.code, str(exc))
    except (SoftTimeLimitExceeded, TimeoutError):
        message = f"the proof ran past PROOF_SOFT_TIME_LIMIT={settings.PROOF_SOFT_TIME_LIMIT}s"
        return _retry_or_fail(job_id, token, failures.TIME_LIMIT, message)
    except Exception as exc:  # an unexpected bug: bounded retries, then a recorded failure
        logger.exception("job %s raised unexpectedly", job_id)
        return _retry_or_fail(job_id, token, failures.INTERNAL_ERROR, f"{exc.__class__.__name__}: {exc}")
    finally:
        keeper.stop()


@dataclass
class Stage:
    storing: bool = False


def _compute_once(job: Job, token: uuid.UUID, deadline: float, stage: Stage) -> RunOutcome:
    """Computes and proves the job, unless an identical computation (another client's,
    another group's) already did: then the job takes that result and proof."""
    inputs = metric_inputs(metric=job.metric, start_timestamp=job.start_timestamp, end_timestamp=job.end_timestamp)
    if inputs is None:  # a vault round's job: priced from the round's own inputs, not shared
        result, record = compute_and_prove(
            proof_id=str(job.pk),
            metric=job.metric,
            start_timestamp=job.start_timestamp,
            end_timestamp=job.end_timestamp,
            deadline=deadline,
        )
        stage.storing = True
        stored = jobs.job_succeed(job_id=job.pk, token=token, result=result, record=record)
        return RunOutcome("succeeded" if stored else "skipped")
    key = inputs.computation_key
    with jobs.computation_turn(key, deadline=deadline):
        shared = jobs.job_share_computation(job_id=job.pk, token=token, computation_key=key)
        if shared is not None:
            return RunOutcome("succeeded" if shared else "skipped")
        result, record = compute_and_prove(
            proof_id=str(job.pk),
            metric=job.metric,
            start_timestamp=job.start_timestamp,
            end_timestamp=job.end_timestamp,
            deadline=deadline,
            inputs=inputs,
        )
        stage.storing = True
        stored = jobs.job_succeed(job_id=job.pk, token=token, result=result, record=record, computation_key=key)
    return RunOutcome("succeeded" if stored else "skipped")


def _hand_back(job_id: int, token: uuid.UUID, exc: SigningKeyNotCurrent) -> RunOutcome:
    jobs.job_release(job_id=job_id, token=token)
    logger.error("job %s handed back, not run here: %s", job_id, exc)
    return RunOutcome("retry", retry_in=KEY_HANDBACK_SECONDS)


def _retry_or_fail(job_id: int, token: uuid.UUID, code: str, message: str) -> RunOutcome:
    delay = jobs.job_retry_or_fail(job_id=job_id, token=token, code=code, message=message)
    return RunOutcome("failed") if delay is None else RunOutcome("retry", retry_in=delay)


def job_run_logged(*, job_id: int) -> RunOutcome:
    """job_run with its log line and metrics. The prove_job task and the synchronous replays
    (replay_job / replay_group --sync) both run a job through here, so every run counts alike."""
    # both restored afterwards: log_job_outcome binds the group, and a command runs many jobs
    tokens = log_context.bind(job_id=job_id, group_id=log_context.get("group_id"))
    try:
        began = time.monotonic()
        outcome = job_run(job_id=job_id)
        log_job_outcome(job_id, outcome.status, time.monotonic() - began)
        return outcome
    finally:
        log_context.unbind(tokens)


def log_job_outcome(job_id: int, status: str, duration: float) -> None:
    """One line (and the metrics) per run of a job; a delivery that ran nothing only counts."""
    job = Job.objects.filter(pk=job_id).values("metric", "group_id", "attempts", "error_code").first()
    if job is None:
        return
    log_context.bind(group_id=job["group_id"])
    record_job_run(metric=job["metric"], outcome=status, duration=duration, attempts=job["attempts"])
    if status == "skipped":
        return
    level = logging.WARNING if status == "failed" else logging.INFO
    logger.log(
        level,
        "job %s %s %s after %.2fs (attempt %s)%s",
        job_id,
        job["metric"],
        status,
        duration,
        job["attempts"],
        f": {job['error_code']}" if job["error_code"] and status != "succeeded" else "",
        extra={
            "outcome": status,
            "metric": job["metric"],
            "duration_seconds": round(duration, 3),
            "attempts": job["attempts"],
            "error_code": job["error_code"] or None,
        },
    )
