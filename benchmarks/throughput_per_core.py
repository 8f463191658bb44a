"""Requests per second per proofs-worker core on a running stack, and CPU per request by process.

The figures behind the sizing table of docs/operations.md. With `make run` up, in a second shell:

    make shell   # or: set -a; . .run/env; set +a
    python benchmarks/throughput_per_core.py --key "$KEY" --requests 200

(start `make run` with API_RATE_LIMIT_SUBMIT=100000/min, or one key takes 60 requests a minute).

It first measures the pure compute of the same jobs in this process (the stack idle), then
submits distinct README-shaped requests (12-hour windows, each shifted by ten minutes, so no
two share a computation), waits for all of them, and prints the drain time, requests per
second, the ratio to pure compute, and CPU seconds per request by process (read from /proc
before and after), with the load average beside them. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
EXAMPLE = json.loads((REPO / "docs" / "example_request.json").read_text())
SHIFT_SECONDS = 600


def request_body(n: int) -> dict:
    body = copy.deepcopy(EXAMPLE)
    for metric in ("twap", "volatility", "reserve_price"):
        start, end = body["params"][metric]
        body["params"][metric] = [start - n * SHIFT_SECONDS, end - n * SHIFT_SECONDS]
    return body


def pure_compute_seconds(bodies: list[dict]) -> float:
    """Compute and prove every job of these requests here, one after the other."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fossil.settings")
    django.setup()
    from handler.compute import compute_and_prove

    metrics = {"twap": "twap", "volatility": "max_return", "reserve_price": "reserve_price"}
    began = time.perf_counter()
    for n, body in enumerate(bodies):
        for client_metric, metric in metrics.items():
            start, end = body["params"][client_metric]
            compute_and_prove(
                proof_id=f"bench-{n}", metric=metric, start_timestamp=start, end_timestamp=end, deadline=1e12
            )
    return time.perf_counter() - began


def process_kind(proc: psutil.Process) -> str | None:
    try:
        cmdline = " ".join(proc.cmdline())
        if "postgres" in proc.name():
            return "postgres"
        if proc.cwd() != str(REPO):
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    for marker, kind in (
        ("gunicorn", "web"),
        ("proofs@", "proofs worker"),
        ("outcomes@", "outcomes worker"),
        ("housekeeping@", "housekeeping worker"),
        (" beat", "beat"),
        ("sqs_emulator.py", "sqs (moto)"),
    ):
        if marker in cmdline:
            return kind
    return None


def stack_processes(run_dir: str) -> dict[int, tuple[str, psutil.Process]]:
    """This stack's processes (their pool children included) and Postgres under its run dir."""
    found: dict[int, tuple[str, psutil.Process]] = {}
    for proc in psutil.process_iter():
        kind = process_kind(proc)
        if kind == "postgres":
            try:
                if run_dir not in " ".join(proc.cmdline()):  # the postmaster; its backends are its children
                    continue
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        if kind is None:
            continue
        found[proc.pid] = (kind, proc)
        try:
            for child in proc.children(recursive=True):
                found[child.pid] = (kind, child)
        except psutil.NoSuchProcess:
            pass
    return found


def cpu_seconds(procs: dict[int, tuple[str, psutil.Process]]) -> dict[int, float]:
    out = {}
    for pid, (_, proc) in procs.items():
        try:
            times = proc.cpu_times()
            out[pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}")
    parser.add_argument("--key", required=True, help="an API key (make run prints one)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--compute-sample", type=int, default=20, help="requests whose pure compute is measured")
    parser.add_argument("--offset", type=int, default=0, help="shift every window by this many more steps")
    args = parser.parse_args()
    bodies = [request_body(args.offset + n) for n in range(args.requests)]

    print(f"load average before: {os.getloadavg()}", flush=True)
    sample = bodies[: args.compute_sample]
    compute_per_request = pure_compute_seconds(sample) / len(sample)
    print(f"pure compute: {compute_per_request * 1000:.0f} ms per request ({len(sample)} requests, one process)")

    run_dir = os.environ.get("FOSSIL_RUN_DIR", str(REPO / ".run"))
    procs = stack_processes(run_dir)
    before = cpu_seconds(procs)
    session = requests.Session()
    headers = {"X-API-Key": args.key}
    began = time.monotonic()
    with ThreadPoolExecutor(args.concurrency) as pool:
        answers = list(
            pool.map(
                lambda body: session.post(f"{args.url}/pricing_data", json=body, headers=headers, timeout=30), bodies
            )
        )
    submitted = time.monotonic() - began
    job_ids = [answer.json()["job_id"] for answer in answers if answer.status_code in (200, 201, 409)]
    print(f"submitted {len(job_ids)}/{len(bodies)} in {submitted:.1f}s", flush=True)
    # Requests finish roughly in the order they came: each round reads the oldest pending ones
    # until one is still pending, so status reads stay about one per request (they cost the web
    # server CPU too, and would be counted as orchestration).
    pending = list(job_ids)
    failed = reads = 0
    while pending and time.monotonic() - began < 3600:
        while pending:
            reads += 1
            status = session.get(f"{args.url}/job_status/{pending[0]}", headers=headers, timeout=30).json()["status"]
            if status == "Pending":
                break
            failed += status == "Failed"
            pending.pop(0)
        time.sleep(0.5)
    drain = time.monotonic() - began
    procs.update({pid: entry for pid, entry in stack_processes(run_dir).items() if pid not in procs})
    after = cpu_seconds(procs)
    count = len(job_ids)
    print(
        f"drained {count - len(pending)} ({failed} failed) in {drain:.1f}s: {count / drain:.2f} requests/s "
        f"({reads} status reads)"
    )
    print(f"drain / pure compute: {drain / (compute_per_request * count):.2f}")
    by_kind: dict[str, float] = {}
    for pid, (kind, _) in procs.items():
        if pid in after:  # a process started during the run (a Postgres backend) counts from zero
            by_kind[kind] = by_kind.get(kind, 0.0) + after[pid] - before.get(pid, 0.0)
    for kind, seconds in sorted(by_kind.items()):
        print(f"  cpu {kind:<22} {seconds:7.1f} s  {seconds / count * 1000:7.1f} ms per request")
    print(f"load average after: {os.getloadavg()}  cores: {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
