"""A worker whose signing key is not the ring's current key takes no jobs (handler.prover_keys).

At start it refuses to run (exit code EXIT_KEY_NOT_CURRENT, one line naming both key ids);
while running it looks every KEY_CHECK_SECONDS and, after a rotation that retired its key,
stops consuming with a warm shutdown and the same exit code, so its supervisor starts it again
with the key it is given (and it refuses again until then). Jobs it had claimed go back to the
queue for a machine that can run them (proving.runner). Only for the attested backend: the
other backends sign nothing with a key of ours.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from celery.signals import worker_init, worker_ready
from celery.worker import state as worker_state
from django.conf import settings
from django.db import DatabaseError, connection

from handler.proofs.errors import ProofConfigurationError

logger = logging.getLogger(__name__)

EXIT_KEY_NOT_CURRENT = 4


def _guarded() -> bool:
    return settings.PROVER_BACKEND == "attested" and not os.environ.get("PROVER_FACTORY")


def signing_key_problem(*, register: bool = True) -> str | None:
    """Why the key this process signs with (loaded once, like the provider's) must not sign now.
    register: an empty ring takes it as its first key (as the provider does when it is built)."""
    from handler.proofs.django_glue import configured_public_key
    from handler.prover_keys import signing_key_check

    public_key = configured_public_key()
    if public_key is None:
        return "no usable prover key configured (PROVER_PRIVATE_KEY or PROVER_KEY_FILE)"
    try:
        signing_key_check(public_key, register=register)
    except ProofConfigurationError as exc:
        return str(exc)
    return None


@worker_init.connect
def refuse_to_start_with_a_key_that_is_not_current(**_kwargs) -> None:
    if not _guarded():
        return
    try:
        problem = signing_key_problem()
    except DatabaseError as exc:  # Postgres not up yet: the running check decides later
        logger.warning("prover key check at start skipped (%s)", exc.__class__.__name__)
        return
    finally:
        if not connection.in_atomic_block:  # the pool's children must not share this connection
            connection.close()
    if problem:
        sys.stderr.write(f"worker: refusing to start: {problem}\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_KEY_NOT_CURRENT)


class KeyGuard(threading.Thread):
    def __init__(self):
        super().__init__(name="fossil-key-guard", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.KEY_CHECK_SECONDS):
                try:
                    if self.look():
                        return
                except DatabaseError as exc:  # an outage is not a rotation: look again later
                    logger.warning("prover key check: %s", exc.__class__.__name__)
        finally:
            connection.close()

    def look(self) -> str | None:
        """Stops the worker (warm shutdown, exit EXIT_KEY_NOT_CURRENT) if its key must not sign."""
        problem = signing_key_problem(register=False)  # read-only: this thread writes nothing
        if problem:
            logger.error("stopping this worker (exit %s): %s", EXIT_KEY_NOT_CURRENT, problem)
            worker_state.should_stop = EXIT_KEY_NOT_CURRENT  # type: ignore[assignment]  # celery declares it None
        return problem


_guards: list[KeyGuard] = []


@worker_ready.connect
def start_key_guard(**_kwargs) -> None:
    if _guarded() and not _guards and settings.KEY_CHECK_SECONDS:
        _guards.append(KeyGuard())
        _guards[0].start()
