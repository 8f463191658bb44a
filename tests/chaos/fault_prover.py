"""A test-only proof provider that fails on cue (selected with PROVER_FACTORY).

Environment (read in the worker process):
  FAULT_MODE      none | sleep | transient | permanent | crash | hang | hang_hard | big
  FAULT_TIMES     for transient/crash: how many invocations of a job fail (default: all)
  FAULT_METRICS   comma-separated metrics the fault applies to (default: all)
  FAULT_SLEEP     seconds a (non-faulty) proof takes (default 0)
  FAULT_MARKERS   directory: one line per invocation is appended to <job_id>.log, so a
                  test counts prover executions independently of the service's bookkeeping.

Counting across processes (a crash kills the pool child) uses those marker files.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded

from handler.proofs.errors import ProofError
from handler.proofs.providers.dev import DevProofProvider


class TransientProverError(ProofError):
    code = "prover_unavailable"
    retryable = True


class PermanentProverError(ProofError):
    code = "prover_rejected"
    retryable = False


def marker_dir() -> Path | None:
    value = os.environ.get("FAULT_MARKERS")
    return Path(value) if value else None


def invocations(job_id: str) -> list[str]:
    directory = marker_dir()
    if directory is None or not (directory / f"{job_id}.log").exists():
        return []
    return (directory / f"{job_id}.log").read_text().splitlines()


def mark(job_id: str, event: str) -> int:
    """Appends an event line; returns how many 'start' lines there are (this one included)."""
    directory = marker_dir()
    if directory is None:
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{job_id}.log", "a") as fh:
        fh.write(f"{event} pid={os.getpid()} t={time.time():.3f}\n")
        fh.flush()
        os.fsync(fh.fileno())
    return sum(1 for line in invocations(job_id) if line.startswith("start"))


class FaultProvider:
    kind = "dev"

    def __init__(self) -> None:
        self.mode = os.environ.get("FAULT_MODE", "none")
        self.times = int(os.environ.get("FAULT_TIMES", "0") or 0)  # 0 = always
        metrics = os.environ.get("FAULT_METRICS", "")
        self.metrics = {m for m in metrics.split(",") if m}
        self.sleep = float(os.environ.get("FAULT_SLEEP", "0") or 0)
        self.inner = DevProofProvider(latency_seconds=0.0)

    def _faulty(self, inputs, n: int) -> bool:
        if self.mode == "none" or (self.metrics and inputs.metric not in self.metrics):
            return False
        return self.times == 0 or n <= self.times

    def prove(self, inputs, *, deadline: float):
        n = mark(inputs.job_id, "start")
        if self._faulty(inputs, n):
            if self.mode == "transient":
                raise TransientProverError(f"prover busy (injected, invocation {n})")
            if self.mode == "permanent":
                raise PermanentProverError(f"prover refused the input (injected, invocation {n})")
            if self.mode == "crash":
                os._exit(137)  # like a segfault or the OOM killer: no cleanup, no exception
            if self.mode == "hang":  # ignores the deadline; the soft time limit interrupts it
                while True:
                    time.sleep(0.2)
            if self.mode == "hang_hard":  # ignores the soft limit too; only the hard limit stops it
                while True:
                    try:
                        time.sleep(0.2)
                    except SoftTimeLimitExceeded:
                        mark(inputs.job_id, "ignored-soft-limit")
        if self.sleep:
            time.sleep(self.sleep)
        record = self.inner.prove(inputs, deadline=deadline)
        mark(inputs.job_id, "done")
        return record

    def compose(self, journal, *, deadline: float):
        return self.inner.compose(journal, deadline=deadline)


def build() -> FaultProvider:
    return FaultProvider()
