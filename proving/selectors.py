"""Proving service reads."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import Count, Max

from proving.models import Job, JobGroup


def job_representation(job: Job) -> dict:
    proof = getattr(job, "proof", None) if job.status == Job.Status.SUCCEEDED else None
    return {
        "id": job.pk,
        "metric": job.metric,
        "start_timestamp": job.start_timestamp,
        "end_timestamp": job.end_timestamp,
        "status": job.status,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "error_code": job.error_code or None,
        "error_message": job.error_message or None,
        "result": job.result,
        "proof": proof.record if proof else None,
        "starknet_calldata": proof.starknet if proof else None,
    }


def job_group_detail(group_id: str) -> dict | None:
    group = JobGroup.objects.filter(pk=group_id).first()
    if group is None:
        return None
    jobs = Job.objects.filter(group_id=group_id).select_related("proof").order_by("pk")
    return {
        "job_group_id": group.pk,
        "status": group.status,
        "run": group.run,
        "error": group.error or None,
        "result": group.result,
        "created_at": group.created_at.isoformat(),
        "finished_at": group.finished_at.isoformat() if group.finished_at else None,
        "jobs": [job_representation(job) for job in jobs],
    }


# --- the operator dashboard ---------------------------------------------------------------
LATENCY_PERCENTILES = (0.5, 0.9, 0.99)


def job_counts_by_status(since) -> dict[str, int]:
    """Jobs created since `since`, counted by status (every status present, zeros included)."""
    counts = dict.fromkeys(Job.Status.values, 0)
    rows = Job.objects.filter(created_at__gte=since).values("status").annotate(n=Count("pk"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def job_failure_reasons(since, *, limit: int = 10) -> list[dict]:
    """The most frequent error codes of jobs that failed since `since`, with one example message."""
    rows = (
        Job.objects.filter(status=Job.Status.FAILED, finished_at__gte=since)
        .values("error_code")
        .annotate(count=Count("pk"), last_failed_at=Max("finished_at"), example=Max("error_message"))
        .order_by("-count", "error_code")[:limit]
    )
    return [dict(row) for row in rows]


def job_latency_percentiles(since) -> list[dict]:
    """Per metric, over jobs that succeeded since `since`: count and the 50/90/99th
    percentiles in seconds of the time from creation to finish (one SQL query)."""
    sql = """
        SELECT metric, count(*),
               percentile_cont(%s::float8[]) WITHIN GROUP (
                   ORDER BY extract(epoch FROM finished_at - created_at))
        FROM proving_job
        WHERE status = %s AND finished_at >= %s
        GROUP BY metric ORDER BY metric
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(LATENCY_PERCENTILES), Job.Status.SUCCEEDED, since])
        rows = cursor.fetchall()
    return [
        {
            "metric": metric,
            "count": count,
            **{f"p{round(q * 100)}": value for q, value in zip(LATENCY_PERCENTILES, values)},
        }
        for metric, count, values in rows
    ]


def job_group_counts_by_status(since) -> dict[str, int]:
    counts = dict.fromkeys(JobGroup.Status.values, 0)
    rows = JobGroup.objects.filter(created_at__gte=since).values("status").annotate(n=Count("pk"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def dashboard(now) -> dict:
    """Everything the dashboard shows, for the last hour and the last day."""
    windows = {"last hour": now - timedelta(hours=1), "last day": now - timedelta(days=1)}
    return {
        "windows": [
            {
                "label": label,
                "since": since,
                "jobs": job_counts_by_status(since),
                "groups": job_group_counts_by_status(since),
                "failures": job_failure_reasons(since),
                "latency": job_latency_percentiles(since),
            }
            for label, since in windows.items()
        ]
    }
