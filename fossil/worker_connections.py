"""Database connections in the workers live as long as in the web threads.

Around every task, as Django does around every request, `close_old_connections` closes the
task's thread's connection only when it is older than CONN_MAX_AGE or unusable (errors since
the last commit, or a failed health check after Postgres restarted); otherwise the next task
reuses it. Celery's own fixup, which would close it every time, is held back by
CELERY_DB_REUSE_MAX (fossil/settings.py). It still closes the connections a prefork child
inherits from its parent, so no two processes share one.
"""

from __future__ import annotations

from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections


@task_prerun.connect(weak=False)
def _release_old_before_task(**_kwargs) -> None:
    close_old_connections()


@task_postrun.connect(weak=False)
def _release_old_after_task(**_kwargs) -> None:
    close_old_connections()
