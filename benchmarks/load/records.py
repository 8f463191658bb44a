"""What the database says about a scenario's requests, read through the apps' own models (so a
schema change breaks these reads loudly instead of making them wrong). Every read returns
None while Postgres is down."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def setup_django(env: dict[str, str]) -> None:
    """Django in the benchmark's own process, configured like the stack it measures."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fossil.settings")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import django

    django.setup()


def _read(function):
    """Runs a read; None if Postgres is unreachable (the next read opens a new connection)."""
    from django.db import DatabaseError, connection

    try:
        return function()
    except DatabaseError:
        connection.close()
        return None


def completed_count(job_ids: list[str]) -> int | None:
    from offchain.models import PricingRequest

    return _read(
        lambda: PricingRequest.objects.filter(job_id__in=job_ids, status=PricingRequest.Status.COMPLETED).count()
    )


def completion_times(job_ids: list[str]) -> list[float] | None:
    """Unix times at which the requests completed, in order."""
    from offchain.models import PricingRequest

    def read() -> list[float]:
        rows = PricingRequest.objects.filter(
            job_id__in=job_ids, status=PricingRequest.Status.COMPLETED, completed_at__isnull=False
        ).values_list("completed_at", flat=True)
        return sorted(t.timestamp() for t in rows)

    return _read(read)


def job_finish_times(job_ids: list[str]) -> list[float] | None:
    """Unix times at which the requests' proving jobs succeeded, in order."""
    from proving.models import Job

    def read() -> list[float]:
        rows = Job.objects.filter(
            group_id__in=job_ids, status=Job.Status.SUCCEEDED, finished_at__isnull=False
        ).values_list("finished_at", flat=True)
        return sorted(t.timestamp() for t in rows)

    return _read(read)


@dataclass
class JobCounts:
    jobs: int
    succeeded: int
    proofs: int
    started_again: int  # jobs claimed more than once (attempts > 1)
    extra_attempts: int


def job_counts(job_ids: list[str]) -> JobCounts | None:
    """The proving jobs of the requests (a request's job_id names its job group)."""
    from django.db.models import Count, F, Q, Sum
    from django.db.models.functions import Greatest

    from proving.models import Job, Proof

    def read() -> JobCounts:
        jobs = Job.objects.filter(group_id__in=job_ids)
        totals = jobs.aggregate(
            jobs=Count("id"),
            succeeded=Count("id", filter=Q(status=Job.Status.SUCCEEDED)),
            started_again=Count("id", filter=Q(attempts__gt=1)),
            extra=Sum(Greatest(F("attempts") - 1, 0)),
        )
        return JobCounts(
            jobs=totals["jobs"],
            succeeded=totals["succeeded"],
            proofs=Proof.objects.filter(job__group_id__in=job_ids).count(),
            started_again=totals["started_again"],
            extra_attempts=int(totals["extra"] or 0),
        )

    return _read(read)


def unfinished_jobs() -> int | None:
    """Jobs of any scenario not finished yet: the stack is idle when this and the queues are 0."""
    from proving.models import Job

    return _read(lambda: Job.objects.exclude(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).count())
