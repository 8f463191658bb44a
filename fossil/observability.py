"""Prometheus metrics (`GET /metrics`) and the request middleware that counts requests
and binds the log context.

Counters and histograms are written by every process: gunicorn workers and Celery pool
processes each write their own files under PROMETHEUS_MULTIPROC_DIR (prometheus_client's
multiprocess mode), and the view adds them up at scrape time. Queue depths, dead letters
and unfinished jobs are read at scrape time (a few cheap, bounded calls, cached briefly).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.http import HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from fossil import log_context

logger = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # each process writes its files there
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

HTTP_REQUESTS = Counter(
    "fossil_http_requests_total", "HTTP requests by endpoint, method and status", ["endpoint", "method", "status"]
)
HTTP_DURATION = Histogram("fossil_http_request_duration_seconds", "HTTP request duration by endpoint", ["endpoint"])
JOB_OUTCOMES = Counter(
    "fossil_job_runs_total", "Job runs (one per delivery that ran) by metric and outcome", ["metric", "outcome"]
)
JOB_DURATION = Histogram(
    "fossil_job_run_duration_seconds",
    "Duration of one job run by metric and outcome",
    ["metric", "outcome"],
    buckets=DURATION_BUCKETS,
)
JOB_ATTEMPTS = Histogram(
    "fossil_job_attempts",
    "Attempts a job had used when it finished, by metric and outcome",
    ["metric", "outcome"],
    buckets=(1, 2, 3, 4, 5, 8, 13, 20, 50),
)
PROOF_DURATION = Histogram(
    "fossil_proof_duration_seconds", "Proving time by backend", ["backend"], buckets=DURATION_BUCKETS
)
RECONCILER_ACTIONS = Counter("fossil_reconciler_actions_total", "What the reconciler repaired, by action", ["action"])


def record_job_run(*, metric: str, outcome: str, duration: float, attempts: int | None = None) -> None:
    JOB_OUTCOMES.labels(metric, outcome).inc()
    JOB_DURATION.labels(metric, outcome).observe(duration)
    if attempts is not None and outcome in ("succeeded", "failed"):
        JOB_ATTEMPTS.labels(metric, outcome).observe(attempts)


@contextmanager
def proof_timer(backend: str):
    began = time.monotonic()
    try:
        yield
    finally:
        PROOF_DURATION.labels(backend).observe(time.monotonic() - began)


def record_reconciler_actions(counts: dict[str, int]) -> None:
    for action, count in counts.items():
        if count:
            RECONCILER_ACTIONS.labels(action).inc(count)


# --- read at scrape time ----------------------------------------------------------------
SCRAPE_CACHE_SECONDS = 10.0


class ScrapeTimeCollector:
    """The gauges of settings.METRICS_SCRAPE_SOURCES (queue and dead-letter depths, unfinished
    jobs: each source a function that returns metric families, or raises when what it reads is
    unavailable), cached for a few seconds so frequent scrapes cost nothing; a failed read is
    reported as a metric, not an error page."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cached_at = 0.0
        self._cached: list = []

    def collect(self):
        with self._lock:
            if time.monotonic() - self._cached_at > SCRAPE_CACHE_SECONDS:
                self._cached = self._read()
                self._cached_at = time.monotonic()
            return list(self._cached)

    def _read(self) -> list:
        families: list = []
        up = GaugeMetricFamily("fossil_scrape_source_up", "Whether a scrape-time source answered", labels=["source"])
        for name, path in settings.METRICS_SCRAPE_SOURCES.items():
            try:
                families += import_string(path)()
                up.add_metric([name], 1)
            except Exception as exc:  # broker or database down: the scrape still answers
                logger.warning("metrics: %s gauges unavailable: %s", name, exc.__class__.__name__)
                up.add_metric([name], 0)
        families.append(up)
        return families


_scrape_collector = ScrapeTimeCollector()


_scrape_registry = CollectorRegistry()
_scrape_registry.register(_scrape_collector)


def scrape() -> bytes:
    """What a scrape sees: every process's counters and histograms (multiprocess mode, or
    this process's own without it), then the scrape-time gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    else:
        from prometheus_client import REGISTRY as counters
    return generate_latest(counters) + generate_latest(_scrape_registry)


def metrics_view(request):
    """Prometheus text format. With METRICS_TOKEN set, only `Authorization: Bearer <token>`."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return HttpResponse(
                "metrics need Authorization: Bearer <METRICS_TOKEN>\n", status=401, content_type="text/plain"
            )
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)


class RequestContextMiddleware:
    """Binds a request id (the client's X-Request-ID if sane, else a new one) and the job or
    group id the URL names to every log line of the request; counts the request by its URL
    pattern's name (bounded labels: never the raw path) and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = log_context.request_id_from(request.headers)
        tokens = log_context.bind(request_id=request_id, job_id=None, group_id=None)
        began = time.monotonic()
        try:
            response = self.get_response(request)
        finally:
            log_context.unbind(tokens)
        match = getattr(request, "resolver_match", None)
        endpoint = (match.view_name if match else None) or "unmatched"
        if endpoint.startswith("admin:"):
            endpoint = "admin"
        HTTP_REQUESTS.labels(
            endpoint, request.method if request.method in KNOWN_METHODS else "other", str(response.status_code)
        ).inc()
        HTTP_DURATION.labels(endpoint).observe(time.monotonic() - began)
        response[log_context.REQUEST_ID_HEADER] = request_id
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        group_id = view_kwargs.get("job_id") or view_kwargs.get("job_group_id")
        if isinstance(group_id, str):
            log_context.bind(group_id=group_id[:66])
        return None


KNOWN_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
