"""Offchain processor writes: API keys, pricing requests, forwarding and outcomes."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from fossil import dispatch
from fossil.exceptions import ApplicationError, ServiceUnavailable
from fossil.http import ServiceCallFailed, ServiceCallRejected
from fossil.queues import queue_waiting_messages
from offchain import errors
from offchain.models import ApiKey, PricingRequest
from offchain.proving_client import proving_client

logger = logging.getLogger(__name__)

KEY_PREFIX_LENGTH = 8
# The client calls the max-return range "volatility"; the proving service calls it max_return.
CLIENT_TO_PROVING_METRIC = {"twap": "twap", "reserve_price": "reserve_price", "volatility": "max_return"}


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(*, name: str) -> tuple[ApiKey, str]:
    """Creates a key and returns it with its only plaintext copy."""
    if not name.strip():
        raise ApplicationError("name must not be empty", code="invalid")
    while True:
        prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
        raw_key = f"fsl_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(name=name.strip(), prefix=prefix, key_hash=hash_api_key(raw_key))
            return key, raw_key
        except IntegrityError:  # prefix collision: draw again
            continue


def api_key_revoke(*, prefix: str) -> ApiKey:
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise ApplicationError(f"no API key with prefix {prefix!r}", status_code=404, code="not_found")
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def job_id_for(*, owner: int | None, identifiers: list[str], params: dict, client_info: dict) -> str:
    """The same request from the same client always gets the same job id: the hex SHA-256
    of its canonical JSON, which includes the asking key's id (`owner`). So two clients
    never share a job id, and nobody can compute, pre-empt or poison another client's."""
    canonical = json.dumps(
        {"owner": owner, "identifiers": identifiers, "params": params, "client_info": client_info},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Submission:
    request: PricingRequest
    outcome: str  # "created" | "pending" | "completed" | "rerun"


def pricing_request_submit(
    *, api_key: ApiKey | None, identifiers: list[str], params: dict, client_info: dict
) -> Submission:
    owner = api_key.pk if api_key is not None else None
    job_id = job_id_for(owner=owner, identifiers=identifiers, params=params, client_info=client_info)
    with transaction.atomic():
        request, created = PricingRequest.objects.get_or_create(
            job_id=job_id,
            defaults={
                "api_key": api_key,
                "identifiers": identifiers,
                "params": params,
                "client_info": client_info,
                "next_poll_at": first_poll_at(forwarded=False),
            },
        )
        if created:
            _hand_over(request)
            return Submission(request, "created")
        rerun = PricingRequest.objects.filter(job_id=job_id, status=PricingRequest.Status.FAILED).update(
            status=PricingRequest.Status.PENDING,
            run=F("run") + 1,
            error="",
            error_code="",
            client_error="",
            results=None,
            forwarded_at=None,
            completed_at=None,
            next_poll_at=first_poll_at(forwarded=False),
            polls=0,
            updated_at=timezone.now(),
        )
        request.refresh_from_db()
        if rerun:
            _hand_over(request)
            return Submission(request, "rerun")
    outcome = "completed" if request.status == PricingRequest.Status.COMPLETED else "pending"
    return Submission(request, outcome)


def _hand_over(request: PricingRequest) -> None:
    """Hands the new run over: in process, now (in this transaction); over HTTP, from a task
    once committed (no network call while a transaction is open)."""
    if proving_client().in_process:
        pricing_request_forward(job_id=request.job_id, run=request.run)
    else:
        dispatch.send_on_commit(dispatch.FORWARD_PRICING_REQUEST, request.job_id, request.run)


def proving_job_body(request: PricingRequest) -> dict:
    body: dict = {"job_group_id": request.job_id}
    for client_metric, proving_metric in CLIENT_TO_PROVING_METRIC.items():
        start, end = request.params[client_metric]
        body[proving_metric] = {"start_timestamp": start, "end_timestamp": end}
    return body


def pricing_request_forward(*, job_id: str, run: int) -> bool:
    """Hands the request to the proving service. Returns False if there was nothing to do.

    Raises fossil.http.ServiceCallFailed on transient failures (the task retries);
    a refusal by the proving service fails the request.
    """
    request = PricingRequest.objects.filter(job_id=job_id, run=run, status=PricingRequest.Status.PENDING).first()
    if request is None:
        return False
    client = proving_client()
    try:
        client.submit(proving_job_body(request))
    except ServiceCallRejected as exc:
        pricing_request_fail(
            job_id=job_id,
            run=run,
            reason=f"proving service refused the job: {exc}",
            code=errors.PROVING_SERVICE_REFUSED,
        )
        return False
    PricingRequest.objects.filter(job_id=job_id, run=run, forwarded_at__isnull=True).update(
        forwarded_at=timezone.now(), next_poll_at=first_poll_at(forwarded=True), polls=0
    )
    if run > 1:
        # A re-run of a group that already finished is answered by an outcome (a callback, or
        # in process the group's own report) that may have come before this forwarded_at and
        # been ignored: look once more now.
        if client.in_process:
            pricing_request_sync(job_id=job_id)
        else:
            dispatch.send(dispatch.SYNC_PRICING_REQUEST, job_id)
    return True


def pricing_request_fail(
    *, job_id: str, run: int, reason: str, code: str = errors.JOB_FAILED, client_detail: str = ""
) -> bool:
    """Fails the run: `reason` (internal detail) is logged and kept for operators, the client
    sees only `code` and its plain message (offchain/errors.py)."""
    changed = PricingRequest.objects.filter(job_id=job_id, run=run, status=PricingRequest.Status.PENDING).update(
        status=PricingRequest.Status.FAILED,
        error=reason[:2000],
        error_code=code,
        client_error=errors.client_error(code, client_detail)[:500],
        updated_at=timezone.now(),
    )
    if changed:
        logger.warning("pricing request %s failed (%s): %s", job_id, code, reason)
    return bool(changed)


def pricing_request_sync_soon(*, job_id: str) -> None:
    """Takes the proving service's completion hint: queues the sync of this request.

    Nothing waits on the proving service here. If the hint cannot be queued the caller
    gets 503 and its notifier tries again (the reconciler's polling is the last resort).
    """
    # A failed request still takes a replay of its group (pricing_request_apply_group);
    # a completed one is final.
    open_statuses = [PricingRequest.Status.PENDING, PricingRequest.Status.FAILED]
    if not PricingRequest.objects.filter(job_id=job_id, status__in=open_statuses).exists():
        return  # unknown or completed: nothing to sync, and nothing to tell the caller
    if not dispatch.send(dispatch.SYNC_PRICING_REQUEST, job_id):
        raise ServiceUnavailable("could not queue the sync; try again")


def pricing_request_sync(*, job_id: str) -> str:
    """Reads the job group from the proving service and applies its final state (the
    completion callback's task and the reconciler's polling land here, so a lost callback
    only delays the result). Returns what pricing_request_apply_group did, or "unknown"."""
    open_statuses = [PricingRequest.Status.PENDING, PricingRequest.Status.FAILED]
    if not PricingRequest.objects.filter(job_id=job_id, status__in=open_statuses).exists():
        return "ignored"
    group = proving_client().group(job_id)
    if group is None:
        return "unknown"
    return pricing_request_apply_group(job_id=job_id, group=group)


def pricing_request_apply_group(*, job_id: str, group: dict) -> str:
    """Applies a job group's state (as GET /api/job/<id> shows it) to its request: the
    in-process proving service calls this in the transaction that finishes the group.

    A re-run is updated only once the proving service has accepted it (forwarded_at):
    until then its group may still show the earlier run. A first run has no earlier run,
    so its outcome may even beat the forwarding answer. A request recorded as failed takes
    a later run of its group (an operator's replay or retry).
    """
    syncable = Q(forwarded_at__isnull=False) | Q(run=1)
    request = PricingRequest.objects.filter(syncable, job_id=job_id, status=PricingRequest.Status.PENDING).first()
    if request is None:
        return _apply_group_after_replay(job_id=job_id, group=group)
    pending = PricingRequest.objects.filter(
        syncable, job_id=job_id, run=request.run, status=PricingRequest.Status.PENDING
    )
    now = timezone.now()
    if group.get("status") == "completed":
        changed = _mark_completed(pending, group, now)
        return "completed" if changed else "ignored"
    if group.get("status") == "failed":
        code, detail = errors.client_code_for_jobs(group.get("jobs") or [])
        changed = pending.update(
            status=PricingRequest.Status.FAILED,
            error=(group.get("error") or "job failed")[:2000],
            error_code=code,
            client_error=errors.client_error(code, detail)[:500],
            updated_at=now,
        )
        if changed:
            logger.warning("pricing request %s failed (%s): %s", job_id, code, group.get("error"))
        return "failed" if changed else "ignored"
    return "running"


def _apply_group_after_replay(*, job_id: str, group: dict) -> str:
    """A completed group is final (it never runs again), and a group that failed again
    replaces the recorded reason. Nothing changes while the group is still running."""
    failed = PricingRequest.objects.filter(job_id=job_id, status=PricingRequest.Status.FAILED)
    if not failed.exists():
        return "ignored"
    now = timezone.now()
    if group.get("status") == "completed":
        changed = _mark_completed(failed, group, now)
        if changed:
            logger.info("pricing request %s completed by a replay of its job group", job_id)
        return "completed" if changed else "ignored"
    if group.get("status") == "failed":
        error = (group.get("error") or "job failed")[:2000]
        changed = failed.exclude(error=error).update(error=error, updated_at=now)
        return "failed" if changed else "ignored"
    return "running"


def _mark_completed(requests, group: dict, now) -> int:
    """The guarded move of the given requests to Completed with the group's results."""
    return requests.update(
        status=PricingRequest.Status.COMPLETED,
        results=results_from_group(group),
        completed_at=now,
        updated_at=now,
        error="",
        error_code="",
        client_error="",
    )


def results_from_group(group: dict) -> dict:
    """What the client keeps from a completed group: per-metric results, receipts, vault order."""
    metrics = {}
    for job in group["jobs"]:
        metrics[job["metric"]] = {
            "result": job["result"],
            "receipt": job.get("proof"),
            "starknet_calldata": job.get("starknet_calldata"),
        }
    group_result = group.get("result") or {}
    return {
        "metrics": metrics,
        "vault_result": group_result.get("vault_result"),
        "composition_journal": group_result.get("composition_journal"),
        "composition_proof": group_result.get("composition_proof"),
        "composition_calldata": group_result.get("composition_calldata"),
        "verifiable_on_chain": bool(group_result.get("verifiable_on_chain")),
        "not_verifiable_reason": group_result.get("not_verifiable_reason") or "",
        "rules": group_result.get("rules") or "engine",
    }


def first_poll_at(*, forwarded: bool):
    """When the reconciler first looks at a pending request: a forward that has not been
    answered after FORWARD_GRACE_SECONDS, a forwarded one without news after STATUS_POLL_AFTER_SECONDS."""
    grace = settings.STATUS_POLL_AFTER_SECONDS if forwarded else settings.FORWARD_GRACE_SECONDS
    return timezone.now() + timedelta(seconds=grace)


def poll_backoff_seconds(polls: int) -> float:
    """The pause after the reconciler's polls-th look at a request: doubling, capped."""
    return min(settings.STATUS_POLL_AFTER_SECONDS * 2 ** min(polls, 20), settings.RECONCILE_POLL_BACKOFF_MAX)


def pricing_requests_reconcile() -> dict[str, int]:
    """The callback's and the forward's fallback. Looks only at pending requests whose
    next_poll_at has passed (at most RECONCILE_BATCH per sweep, the most overdue first), and
    pushes each one's next look back exponentially, so its work follows the requests that
    are overdue, not the backlog. A request not yet handed over is forwarded again, a
    forwarded one is polled. Over HTTP that is a message, and none is sent to a queue with
    messages waiting (the one it would repeat is probably among them); in process it is a
    read of the group in this database."""
    now = timezone.now()
    client = proving_client()
    busy = set()
    if not client.in_process:
        busy = {name for name in (settings.QUEUE_HOUSEKEEPING, settings.QUEUE_OUTCOMES) if queue_waiting_messages(name)}
    due = list(
        PricingRequest.objects.filter(status=PricingRequest.Status.PENDING, next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("job_id", "run", "forwarded_at", "polls")[: settings.RECONCILE_BATCH]
    )
    counts = {"requests_reforwarded": 0, "requests_polled": 0}
    for job_id, run, forwarded_at, polls in due:
        queue = settings.QUEUE_OUTCOMES if forwarded_at else settings.QUEUE_HOUSEKEEPING
        if queue in busy:
            continue  # looked at again next sweep, once the queue has drained
        PricingRequest.objects.filter(job_id=job_id, run=run, status=PricingRequest.Status.PENDING).update(
            next_poll_at=now + timedelta(seconds=poll_backoff_seconds(polls)), polls=F("polls") + 1
        )
        if forwarded_at is None:
            counts["requests_reforwarded"] += _reforward(client, job_id, run)
        else:
            counts["requests_polled"] += _poll(client, job_id)
    return counts


def _reforward(client, job_id: str, run: int) -> bool:
    if not client.in_process:
        return dispatch.send(dispatch.FORWARD_PRICING_REQUEST, job_id, run)
    try:
        with transaction.atomic():
            return pricing_request_forward(job_id=job_id, run=run)
    except ServiceCallFailed:
        return False


def _poll(client, job_id: str) -> bool:
    if not client.in_process:
        return dispatch.send(dispatch.SYNC_PRICING_REQUEST, job_id)
    pricing_request_sync(job_id=job_id)
    return True
