"""Proving service reads."""
from __future__ import annotations

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
