"""The load: distinct requests shaped like the README example, submitted from several API keys,
and the /health probe that runs beside it."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((REPO / "docs" / "example_request.json").read_text())
# Each request is the example's 12-hour window moved back by whole minutes: the ranges (so the
# computations) are all different, and each spans the same number of one-minute buckets. The
# demo chain (seed_demo_chain) starts 31 days before the example's window.
SHIFT_SECONDS = 60
MAX_SHIFTS = 30 * 24 * 60


def request_body(index: int) -> dict:
    """The index-th distinct request of the run (indices never repeat across scenarios)."""
    if index >= MAX_SHIFTS:
        raise SystemExit(f"bench-load: request {index} would leave the demo chain's {MAX_SHIFTS} distinct windows")
    body = json.loads(json.dumps(EXAMPLE))
    shift = index * SHIFT_SECONDS
    for metric, (start, end) in body["params"].items():
        body["params"][metric] = [start - shift, end - shift]
    body["client_info"]["timestamp"] = EXAMPLE["client_info"]["timestamp"] + index
    return body


def http(method: str, url: str, key: str | None = None, body: dict | None = None, timeout: float = 30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("X-API-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"{}"), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            payload = json.loads(text or b"{}")
        except ValueError:
            payload = {"raw": text[:200].decode(errors="replace")}
        return exc.code, payload, dict(exc.headers)


def submit(base: str, key: str, body: dict, deadline: float) -> str:
    """POSTs until the service takes the request (201, or 200/409 for one it already has),
    honouring Retry-After on 429/503 (Postgres or SQS down)."""
    while time.monotonic() < deadline:
        try:
            status, answer, headers = http("POST", f"{base}/pricing_data", key, body)
        except OSError:
            time.sleep(1)
            continue
        if status in (200, 201, 409):
            return answer["job_id"]
        if status in (429, 500, 502, 503, 504):
            time.sleep(min(float(headers.get("Retry-After") or 1), 5))
            continue
        raise RuntimeError(f"submission refused: {status} {answer}")
    raise RuntimeError("a submission did not get through before the deadline")


def submit_all(base: str, keys: list[str], bodies: list[dict], concurrency: int, deadline: float) -> list[tuple]:
    """(job id, key) per body; request i comes from key i mod len(keys)."""
    owners = [keys[i % len(keys)] for i in range(len(bodies))]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        ids = list(pool.map(lambda pair: submit(base, pair[0], pair[1], deadline), zip(owners, bodies)))
    return list(zip(ids, owners))


def final_statuses(base: str, owned: list[tuple], concurrency: int) -> dict[str, int]:
    """Each request's status as its own client reads it (GET /job_status with the owning key)."""

    def status_of(pair: tuple) -> str:
        job_id, key = pair
        for _ in range(5):
            try:
                code, answer, _ = http("GET", f"{base}/job_status/{job_id}", key)
            except OSError:
                time.sleep(1)
                continue
            if code == 200:
                return answer.get("status", "?")
            if code in (429, 503):
                time.sleep(1)
                continue
            return f"HTTP {code}"
        return "unreachable"

    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for status in pool.map(status_of, owned):
            counts[status] = counts.get(status, 0) + 1
    return counts


class HealthProbe(threading.Thread):
    """GET /health every 0.5 s: the worst latency, and how many did not answer 200 in 10 s."""

    def __init__(self, base: str):
        super().__init__(daemon=True, name="health-probe")
        self.base, self.worst, self.failures, self.probes = base, 0.0, 0, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=10) as answer:
                    answer.read()
            except OSError:
                self.failures += 1
            self.probes += 1
            self.worst = max(self.worst, time.monotonic() - started)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=15)
