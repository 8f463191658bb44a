"""Pure compute: a sample of a scenario's own requests, each request's jobs computed and proved
(handler.compute.compute_and_prove, what a proofs worker runs) one after the other in one
process, with no web, queue or job bookkeeping. Run while the stack is idle, just before the
scenario's load, with the load average beside it."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from dataclasses import dataclass

# The jobs read their block data through SQL aggregates, so part of the compute runs in this
# process's Postgres backend: its CPU is read from /proc (same machine) around each request.
PROBE = """
import json, os, time
from django.db import connection
from handler.compute import compute_and_prove
from offchain.services import CLIENT_TO_PROVING_METRIC
requests = json.loads(os.environ["BENCH_REQUESTS"])
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
tick = os.sysconf("SC_CLK_TCK")
def backend_cpu():
    with open(f"/proc/{backend}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
out = []
for params in requests[:1] + requests:  # the first round warms up (imports, key, caches): not counted
    wall, cpu, db = time.perf_counter(), time.process_time(), backend_cpu()
    for client_metric, (start, end) in params.items():
        compute_and_prove(proof_id="0", metric=CLIENT_TO_PROVING_METRIC[client_metric],
                          start_timestamp=start, end_timestamp=end, deadline=time.monotonic() + 300)
    out.append([time.perf_counter() - wall, time.process_time() - cpu, backend_cpu() - db])
print(json.dumps(out[1:]))
"""


@dataclass
class PureCompute:
    samples: int
    wall_per_request_s: float  # mean over the sample
    cpu_per_request_s: float
    db_cpu_per_request_s: float  # its Postgres backend: the block data's aggregates
    wall_median_s: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    def total_seconds(self, requests: int, parallel: int) -> float:
        """The scenario's jobs computed back to back on `parallel` cores."""
        return self.wall_per_request_s * requests / parallel


def sample_of(bodies: list[dict], samples: int) -> list[dict]:
    """Evenly spread over the scenario's requests (all of them when samples >= len)."""
    if samples <= 0 or samples >= len(bodies):
        return bodies
    step = len(bodies) / samples
    return [bodies[int(i * step)] for i in range(samples)]


def measure(python: str, repo, env: dict[str, str], bodies: list[dict], samples: int) -> PureCompute:
    chosen = sample_of(bodies, samples)
    load_before = os.getloadavg()
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", PROBE],
        cwd=repo,
        env=dict(env, BENCH_REQUESTS=json.dumps([b["params"] for b in chosen])),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if out.returncode:
        raise RuntimeError(f"pure-compute probe failed: {out.stderr[-2000:]}")
    rounds = json.loads(out.stdout.strip().splitlines()[-1])
    return PureCompute(
        samples=len(rounds),
        wall_per_request_s=statistics.fmean(r[0] for r in rounds),
        cpu_per_request_s=statistics.fmean(r[1] for r in rounds),
        db_cpu_per_request_s=statistics.fmean(r[2] for r in rounds),
        wall_median_s=statistics.median(r[0] for r in rounds),
        load_before=load_before,
        load_after=os.getloadavg(),
    )
