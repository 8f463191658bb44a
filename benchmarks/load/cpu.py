"""CPU seconds by role (web, each worker, SQS, Postgres, ...), read from /proc with psutil.

A role's CPU is that of its process tree: every live process under its root, plus what the
kernel has added to each of them for children already reaped (a gunicorn worker replaced,
a prefork child recycled, a Postgres backend whose connection closed). Roots come and go
(a killed worker is started again, Postgres restarts): the sampler keeps the last reading of
every root it has seen, so a window's CPU is the sum over the roots of the role of
last reading - reading at the window's start (0 for a root started inside the window).
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Callable

import psutil

# a role name -> the pid of its root now (None while it has none, e.g. Postgres down)
Roots = Callable[[], dict[str, int | None]]


def process_table() -> tuple[dict[int, list[int]], dict[int, float], dict[int, float]]:
    """children by pid, own CPU by pid, CPU of reaped children by pid: one pass over /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    own: dict[int, float] = {}
    reaped: dict[int, float] = {}
    for proc in psutil.process_iter(["ppid", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is None:  # gone, or not ours to read
            continue
        children[proc.info["ppid"]].append(proc.pid)
        own[proc.pid] = times.user + times.system
        reaped[proc.pid] = times.children_user + times.children_system
    return children, own, reaped


def tree_seconds(root: int, children, own, reaped) -> float | None:
    if root not in own:
        return None
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += own.get(pid, 0.0) + reaped.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
    return total


class CpuSampler(threading.Thread):
    """Reads every role's tree every `interval` seconds; `self_only` roles count their root alone
    (the benchmark's own process, whose children are the stack)."""

    def __init__(self, roots: Roots, self_only: frozenset[str] = frozenset(), interval: float = 2.0):
        super().__init__(daemon=True, name="cpu-sampler")
        self.roots, self.self_only, self.interval = roots, self_only, interval
        self.lock = threading.Lock()
        self.last: dict[tuple[str, int], float] = {}
        self.stopped = threading.Event()

    def sample(self) -> None:
        children, own, reaped = process_table()
        readings = {}
        for role, pid in self.roots().items():
            if pid is None:
                continue
            value = own.get(pid) if role in self.self_only else tree_seconds(pid, children, own, reaped)
            if value is not None:
                readings[(role, pid)] = value
        with self.lock:
            for key, value in readings.items():
                self.last[key] = max(value, self.last.get(key, 0.0))

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.sample()
            except Exception as exc:  # a sampler that dies would silently freeze every figure
                print(f"cpu sampler: {exc!r}", flush=True)

    def snapshot(self) -> dict[tuple[str, int], float]:
        self.sample()
        with self.lock:
            return dict(self.last)


def window_seconds(start: dict[tuple[str, int], float], end: dict[tuple[str, int], float]) -> dict[str, float]:
    """CPU seconds per role between two snapshots."""
    by_role: dict[str, float] = defaultdict(float)
    for (role, pid), value in end.items():
        by_role[role] += max(0.0, value - start.get((role, pid), 0.0))
    return dict(by_role)


def postmaster_pid(pgdata) -> int | None:
    """The running postmaster's pid (first line of postmaster.pid), None while it is down."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) else None


def this_process() -> int:
    return os.getpid()
