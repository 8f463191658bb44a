"""Task names on the wire, and publishing by name.

Apps never import each other's task modules: a service that starts work elsewhere
publishes the task's name with ids as arguments. The names are the ones already on the
queues (and in settings.CELERY_TASK_ROUTES), so messages in flight keep matching.
"""

from __future__ import annotations

from fossil.queues import publish, publish_on_commit

PROVE_JOB = "handler.prove_job"  # the name predates proving.tasks; it stays for messages in flight
RECORD_JOB_OUTCOME = "proving.record_job_outcome"
NOTIFY_OFFCHAIN = "proving.notify_offchain"
RECONCILE = "proving.reconcile"
FORWARD_PRICING_REQUEST = "offchain.forward_pricing_request"
SYNC_PRICING_REQUEST = "offchain.sync_pricing_request"


def send(task_name: str, *args: object) -> bool:
    """Publishes now; False (logged) if the broker refused. See fossil.queues.publish."""
    return publish(task_name, *args)


def send_on_commit(task_name: str, *args: object) -> None:
    """Publishes once the current transaction commits."""
    publish_on_commit(task_name, *args)
