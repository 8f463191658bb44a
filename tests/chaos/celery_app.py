"""The project's Celery app, plus worker settings the chaos tests vary per worker.

`celery -A tests.chaos.celery_app worker` loads the real app (celery_app) and then applies
CHAOS_* environment overrides that fossil/settings.py does not read (yet):
  CHAOS_SOFT_SHUTDOWN_TIMEOUT   -> worker_soft_shutdown_timeout (Celery >= 5.5)
  CHAOS_SOFT_SHUTDOWN_ON_IDLE   -> worker_enable_soft_shutdown_on_idle
  CHAOS_CANCEL_ON_CONN_LOSS     -> worker_cancel_long_running_tasks_on_connection_loss
  CHAOS_REJECT_ON_WORKER_LOST   -> task_reject_on_worker_lost
"""

from __future__ import annotations

import os

from celery_app import app

_BOOLS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}

if os.environ.get("CHAOS_SOFT_SHUTDOWN_TIMEOUT"):
    app.conf.worker_soft_shutdown_timeout = float(os.environ["CHAOS_SOFT_SHUTDOWN_TIMEOUT"])
if os.environ.get("CHAOS_SOFT_SHUTDOWN_ON_IDLE"):
    app.conf.worker_enable_soft_shutdown_on_idle = _BOOLS[os.environ["CHAOS_SOFT_SHUTDOWN_ON_IDLE"].lower()]
if os.environ.get("CHAOS_CANCEL_ON_CONN_LOSS"):
    app.conf.worker_cancel_long_running_tasks_on_connection_loss = _BOOLS[
        os.environ["CHAOS_CANCEL_ON_CONN_LOSS"].lower()
    ]
if os.environ.get("CHAOS_REJECT_ON_WORKER_LOST"):
    app.conf.task_reject_on_worker_lost = _BOOLS[os.environ["CHAOS_REJECT_ON_WORKER_LOST"].lower()]
