"""The proving service's gauges read at scrape time (named in settings.METRICS_SCRAPE_SOURCES):
work-queue and dead-letter depths, and unfinished jobs."""

from __future__ import annotations

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from proving.dead_letters import queue_depths
from proving.models import Job


def queue_gauges() -> list[GaugeMetricFamily]:
    queue = GaugeMetricFamily("fossil_queue_messages", "Messages on a work queue by state", labels=["queue", "state"])
    dead = GaugeMetricFamily("fossil_dead_letter_messages", "Messages on a queue's dead-letter queue", labels=["queue"])
    for depth in queue_depths():
        queue.add_metric([depth.queue, "waiting"], depth.waiting)
        queue.add_metric([depth.queue, "in_flight"], depth.in_flight)
        dead.add_metric([depth.queue], depth.dead + depth.dead_in_flight)
    return [queue, dead]


def job_gauges() -> list[GaugeMetricFamily]:
    jobs = GaugeMetricFamily("fossil_jobs_unfinished", "Jobs pending or running", labels=["status"])
    counts: dict[str, int] = dict.fromkeys((Job.Status.PENDING, Job.Status.RUNNING), 0)
    rows = Job.objects.filter(status__in=list(counts)).values("status").annotate(n=Count("pk"))
    counts.update({row["status"]: row["n"] for row in rows})
    for status, count in counts.items():
        jobs.add_metric([status], count)
    return [jobs]
