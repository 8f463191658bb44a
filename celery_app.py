"""The Celery application shared by the web process (publishing) and the workers."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fossil.settings")

app = Celery("fossil")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The worker's heartbeat for the liveness probe, and the one that keeps the visibility of
# the messages it holds (both connect Celery signals).
import fossil.liveness  # noqa: E402,F401
import fossil.visibility  # noqa: E402,F401

# Persistent database connections in the workers (CONN_MAX_AGE), not one per task.
import fossil.worker_connections  # noqa: E402,F401

# A worker signs only with the key ring's current key: it refuses to start, or stops, otherwise.
import handler.signing_key_guard  # noqa: E402,F401
from fossil import log_context  # noqa: E402

# Request, job and group ids on the log lines of publishers and workers.
log_context.connect_celery_signals()
