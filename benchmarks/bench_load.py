"""Load-and-fault benchmark: the stack as `make run` starts it, under load, with faults.

    .venv/bin/python benchmarks/bench_load.py [--requests 1000] [--scenarios all] [--json out.json]

Starts a stack of its own from scripts/devstack.py's pieces (embedded Postgres in its own
directory, moto on a free port behind a counting proxy, the processes of
devstack.app_processes supervised, 127.0.0.1 only), then for each scenario:

    one-machine    one proofs-worker machine (devstack's proofs worker), no fault
    two-machines   a second proofs-worker machine (its own processes, same SQS and Postgres)
    kill-machine   kill -9 of a proofs-worker machine a third of the way in
    postgres-down  Postgres stopped (immediate) for --postgres-down-seconds a third of the way in
    sqs-restart    the SQS server killed and started again empty a third of the way in

1. waits until the stack is idle (every queue empty, no unfinished job);
2. measures pure compute: a sample of the scenario's own requests, their jobs computed and
   proved one after the other in one process (load average printed beside it);
3. submits N distinct requests shaped like docs/example_request.json from several API keys and
   waits until all are Completed (bounded), injecting the fault if any;
4. prints drain time, its ratio to the pure compute, messages and SQS calls per request,
   CPU per request by process, the worst /health latency, lost requests and repeated jobs.

Fault scenarios run with --fault-machines machines and measure "back to full speed" against
the no-fault scenario with as many machines (added when not chosen). See docs/reliability.md,
"Measuring it", for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.load import client, compute, cpu, records  # noqa: E402
from benchmarks.load.stack import BenchStack, devstack  # noqa: E402

NO_FAULT = {"one-machine": 1, "two-machines": 2}
FAULTS = ("kill-machine", "postgres-down", "sqs-restart")
SCALE_OUT = "add-machine"  # starts with one proofs machine, a second joins a third of the way in
SCENARIOS = ("one-machine", "two-machines", SCALE_OUT, *FAULTS)  # the order they run in
DEFAULT_SCENARIOS = (*NO_FAULT, *FAULTS)
EVENTS = (SCALE_OUT, *FAULTS)
RECOVERY_WINDOW_SECONDS = 15
RECOVERED_FRACTION = 0.8
# roles whose CPU is the emulated infrastructure or the benchmark itself, not Fossil's orchestration
NOT_ORCHESTRATION = ("sqs (moto)", "sqs proxy (bench)", "load client (bench)")
TARGETS = {"ratio": 2.0, "orchestration_ms": 25.0, "health_s": 1.0, "recovered_s": 60.0}


@dataclass
class Outcome:
    scenario: str
    machines: int
    requests: int
    keys: int
    pure_compute: dict
    pure_compute_s: float = 0.0  # the scenario's jobs on min(cores, proving processes)
    parallel: int = 1
    submit_s: float = 0.0
    first_completed_s: float | None = None
    drain_s: float | None = None  # first submit -> last request Completed
    ratio: float | None = None
    statuses: dict = field(default_factory=dict)
    lost: int = 0
    jobs: dict | None = None
    sqs_calls_per_request: float = 0.0
    messages_per_request: float = 0.0
    sqs: dict = field(default_factory=dict)
    cpu_ms_per_request: dict = field(default_factory=dict)
    orchestration_ms_per_request: float | None = None
    worst_health_s: float = 0.0
    health_failures: int = 0
    fault_at_completed: int | None = None  # requests Completed when the event came
    fault_at_jobs_done: int | None = None
    fault_seconds: float | None = None
    recovered_s: float | None = None
    steady_rate: float | None = None  # requests completed per second, 10th..90th percentile
    rate_before: float | None = None  # add-machine: jobs proved per second before / after the second machine
    rate_after: float | None = None
    load_average_end: tuple = ()
    notes: list[str] = field(default_factory=list)


def counter_delta(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def steady_rate(times: list[float]) -> float | None:
    """Completions per second between the 10th and 90th percentile completion."""
    if len(times) < 10:
        return None
    low, high = times[len(times) // 10], times[(9 * len(times)) // 10]
    return ((9 * len(times)) // 10 - len(times) // 10) / max(high - low, 1e-6)


def recovery_seconds(times: list[float], fault_end: float, rate: float) -> float:
    """From the fault's end until a RECOVERY_WINDOW_SECONDS window completes >= 80 % of `rate`
    (or until the last request completed, when fewer than a window's worth were left)."""
    want = RECOVERED_FRACTION * rate * RECOVERY_WINDOW_SECONDS
    finished = times[-1]
    t = fault_end
    while t + RECOVERY_WINDOW_SECONDS <= finished:
        if sum(1 for x in times if t <= x < t + RECOVERY_WINDOW_SECONDS) >= want:
            return max(0.0, t - fault_end)
        t += 1.0
    return max(0.0, finished - fault_end)


def wait_idle(bench: BenchStack, timeout: float) -> list[str]:
    """Until no job is unfinished and no message waits on any queue (twice in a row); notes on
    what was not idle: messages still in flight (taken by a worker, not yet deleted) are
    reported, not waited for, since a failed task's message stays invisible for the whole
    visibility timeout."""
    deadline = time.monotonic() + timeout
    quiet = 0
    depths: dict = {}
    unfinished = None
    while time.monotonic() < deadline:
        try:
            depths = bench.queue_depths()
        except Exception as exc:  # SQS coming back after a restart
            depths = {"?": (repr(exc), 0)}
        unfinished = records.unfinished_jobs()
        waiting = {q: w for q, (w, _) in depths.items() if w}
        quiet = quiet + 1 if not waiting and unfinished == 0 else 0
        if quiet >= 2:
            in_flight = {q: f for q, (_, f) in depths.items() if f}
            return [f"messages in flight before the load (not waited for): {in_flight}"] if in_flight else []
        time.sleep(1)
    return [f"stack not idle after {timeout:.0f}s: queues (waiting, in flight) {depths}, unfinished jobs {unfinished}"]


def inject(bench: BenchStack, scenario: str, postgres_down_seconds: float) -> None:
    if scenario == SCALE_OUT:
        bench.set_proof_machines(2)
    elif scenario == "kill-machine":
        bench.kill_machine(bench.machines[0])
    elif scenario == "postgres-down":
        bench.postgres_down(postgres_down_seconds)
    elif scenario == "sqs-restart":
        bench.restart_sqs_empty()


def run_scenario(
    bench: BenchStack,
    sampler: cpu.CpuSampler,
    keys: list[str],
    scenario: str,
    machines: int,
    first_index: int,
    args: argparse.Namespace,
    baseline_rates: dict[int, float],
) -> Outcome:
    n = args.requests
    bench.set_proof_machines(machines)
    outcome = Outcome(scenario, machines, n, len(keys), pure_compute={})
    outcome.notes += wait_idle(bench, 300)
    bodies = [client.request_body(first_index + i) for i in range(n)]

    pure = compute.measure(devstack.PYTHON, REPO, bench.env_for("compute-probe"), bodies, args.compute_samples)
    proving_processes = machines * args.worker_concurrency
    outcome.parallel = max(1, min(os.cpu_count() or 1, proving_processes))
    outcome.pure_compute = asdict(pure)
    outcome.pure_compute_s = pure.total_seconds(n, outcome.parallel)
    print(
        f"  pure compute (stack idle, load average {fmt_load(pure.load_before)} before, "
        f"{fmt_load(pure.load_after)} after): {pure.wall_per_request_s * 1000:.0f} ms per request "
        f"(CPU {pure.cpu_per_request_s * 1000:.0f} ms + {pure.db_cpu_per_request_s * 1000:.0f} ms in its Postgres "
        f"backend, {pure.samples} sampled) -> "
        f"{outcome.pure_compute_s:.1f} s for {n} on {outcome.parallel} processes",
        flush=True,
    )
    timeout = args.timeout or max(900.0, 30 * outcome.pure_compute_s) + 300
    deadline = time.monotonic() + timeout

    cpu_before, sqs_before = sampler.snapshot(), bench.sqs_counts()
    probe = client.HealthProbe(bench.base)
    probe.start()
    started = time.time()
    owned = client.submit_all(bench.base, keys, bodies, args.concurrency, deadline)
    outcome.submit_s = time.time() - started
    job_ids = [job_id for job_id, _ in owned]
    if len(set(job_ids)) != n:
        outcome.notes.append(f"{n - len(set(job_ids))} submissions answered with a job id already given")
    print(f"  submitted {n} in {outcome.submit_s:.1f}s from {len(keys)} keys", flush=True)

    fault_end = fault_started = None
    done = 0
    expected_jobs = sum(len(body["params"]) for body in bodies)  # one job per metric
    while time.monotonic() < deadline:
        counted = records.completed_count(job_ids)
        done = counted if counted is not None else done
        # the event lands a third of the way through the proving work, so a killed machine is busy
        proved = records.job_counts(job_ids) if scenario in EVENTS and fault_end is None else None
        if proved and proved.succeeded >= max(1, expected_jobs // 3):
            print(
                f"  {scenario}: now, at {proved.succeeded}/{expected_jobs} jobs and {done}/{n} requests done",
                flush=True,
            )
            outcome.fault_at_completed = done
            outcome.fault_at_jobs_done = proved.succeeded
            fault_started = time.time()
            inject(bench, scenario, args.postgres_down_seconds)
            fault_end = time.time()
            outcome.fault_seconds = fault_end - fault_started
        if done == n:
            break
        time.sleep(1)
    cpu_after, sqs_after = sampler.snapshot(), bench.sqs_counts()
    probe.stop()
    outcome.worst_health_s, outcome.health_failures = probe.worst, probe.failures
    outcome.load_average_end = os.getloadavg()

    outcome.statuses = client.final_statuses(bench.base, owned, args.concurrency)
    outcome.lost = n - outcome.statuses.get("Completed", 0)
    times = records.completion_times(job_ids) or []
    if times:
        outcome.first_completed_s = times[0] - started
    if times and not outcome.lost:
        outcome.drain_s = times[-1] - started
        outcome.ratio = outcome.drain_s / max(outcome.pure_compute_s, 1e-6)
    outcome.steady_rate = steady_rate(times)
    if scenario in NO_FAULT and outcome.steady_rate:
        baseline_rates[machines] = outcome.steady_rate
    if scenario in FAULTS and fault_end is not None and times and baseline_rates.get(machines):
        outcome.recovered_s = recovery_seconds(times, fault_end, baseline_rates[machines])
    if scenario == SCALE_OUT and fault_end is not None:
        # proving throughput (jobs finished per second) is what a machine adds
        finished = records.job_finish_times(job_ids) or []
        before = [t for t in finished if t < fault_started]
        after = [t for t in finished if t >= fault_end]
        if len(before) > 1:
            outcome.rate_before = (len(before) - 1) / max(before[-1] - before[0], 1e-6)
        if len(after) > 1:
            outcome.rate_after = (len(after) - 1) / max(after[-1] - after[0], 1e-6)
    try:
        left = bench.queue_depths()
    except Exception as exc:
        left = {"?": (repr(exc), 0)}
    dead = {q: w + f for q, (w, f) in left.items() if q.endswith("-dlq") and w + f}
    in_flight = {q: f for q, (_, f) in left.items() if f and not q.endswith("-dlq")}
    if dead:
        outcome.notes.append(f"dead letters after the drain: {dead}")
    if in_flight:
        outcome.notes.append(f"messages still in flight after the drain: {in_flight}")
    jobs = records.job_counts(job_ids)
    outcome.jobs = asdict(jobs) if jobs else None

    calls = counter_delta(sqs_after["calls"], sqs_before["calls"])
    sent = counter_delta(sqs_after["sent"], sqs_before["sent"])
    received = counter_delta(sqs_after["received"], sqs_before["received"])
    deleted = counter_delta(sqs_after["deleted"], sqs_before["deleted"])
    prefix = bench.settings["prefix"]
    outcome.sqs = {
        "calls": calls,
        "sent_by_queue": {q.removeprefix(prefix): v for q, v in sent.items()},
        "received_by_queue": {q.removeprefix(prefix): v for q, v in received.items()},
        "deleted_by_queue": {q.removeprefix(prefix): v for q, v in deleted.items()},
        "upstream_failures": sqs_after["upstream_failures"] - sqs_before["upstream_failures"],
    }
    outcome.sqs_calls_per_request = sum(calls.values()) / n
    outcome.messages_per_request = sum(sent.values()) / n
    by_role = cpu.window_seconds(cpu_before, cpu_after)
    outcome.cpu_ms_per_request = {role: 1000 * s / n for role, s in sorted(by_role.items())}
    stack_cpu = sum(s for role, s in by_role.items() if role not in NOT_ORCHESTRATION)
    compute_cpu = pure.cpu_per_request_s + pure.db_cpu_per_request_s
    outcome.orchestration_ms_per_request = 1000 * (stack_cpu - n * compute_cpu) / n
    return outcome


# --- the report ---------------------------------------------------------------------------
def fmt_load(load) -> str:
    return "/".join(f"{x:.1f}" for x in load)


def fmt(value, spec: str = ".1f", missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def print_report(outcomes: list[Outcome]) -> None:
    print(
        "\n| scenario | proofs machines | requests | drain (s) | pure compute (s) [load avg] | drain / pure "
        "| messages / req | SQS calls / req | orchestration CPU / req (ms) | worst /health (s) "
        "| lost | jobs / proofs | jobs started again | back to full speed (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for o in outcomes:
        jobs = o.jobs or {}
        job_cell = f"{jobs.get('jobs', '?')} / {jobs.get('proofs', '?')}"
        again = f"{jobs.get('started_again', '?')} ({jobs.get('extra_attempts', '?')})"
        drain = fmt(o.drain_s) if o.drain_s is not None else f"not all ({o.statuses})"
        recovered, machines = fmt(o.recovered_s, ".0f"), str(o.machines)
        if o.scenario == SCALE_OUT:
            machines = "1 -> 2"
            recovered = f"{fmt(o.rate_before, '.2f')} -> {fmt(o.rate_after, '.2f')} jobs/s"
        print(
            f"| {o.scenario} | {machines} | {o.requests} | {drain} | {o.pure_compute_s:.1f} "
            f"[{fmt_load(o.pure_compute['load_before'])}] | {fmt(o.ratio, '.2f')} | {o.messages_per_request:.2f} "
            f"| {o.sqs_calls_per_request:.1f} | {fmt(o.orchestration_ms_per_request, '.0f')} "
            f"| {o.worst_health_s:.2f} | {o.lost} | {job_cell} | {again} | {recovered} |"
        )

    roles = sorted({role for o in outcomes for role in o.cpu_ms_per_request})
    print("\nCPU per request by process (ms; each role is its whole process tree):\n")
    print("| process | " + " | ".join(o.scenario for o in outcomes) + " |")
    print("|---" * (len(outcomes) + 1) + "|")
    for role in roles:
        print(f"| {role} | " + " | ".join(f"{o.cpu_ms_per_request.get(role, 0):.1f}" for o in outcomes) + " |")
    print(
        "| pure compute (CPU, one process) | "
        + " | ".join(f"{o.pure_compute['cpu_per_request_s'] * 1000:.1f}" for o in outcomes)
        + " |"
    )
    print(
        "| pure compute (CPU of its Postgres backend) | "
        + " | ".join(f"{o.pure_compute['db_cpu_per_request_s'] * 1000:.1f}" for o in outcomes)
        + " |"
    )

    print("\nSQS per request: messages sent by queue, and calls by action:\n")
    for o in outcomes:
        n = o.requests
        sent = ", ".join(f"{q} {v / n:.2f}" for q, v in sorted(o.sqs["sent_by_queue"].items()))
        again = {
            q: o.sqs["received_by_queue"].get(q, 0) - v
            for q, v in o.sqs["sent_by_queue"].items()
            if o.sqs["received_by_queue"].get(q, 0) > v
        }
        calls = ", ".join(f"{a} {v / n:.1f}" for a, v in sorted(o.sqs["calls"].items(), key=lambda kv: -kv[1]))
        print(f"- {o.scenario}: sent {sent or 'none'}; received beyond sent {again or 'none'}; calls {calls}")
        if o.sqs["upstream_failures"]:
            print(f"  ({o.sqs['upstream_failures']} calls met the SQS server down)")
        for note in o.notes:
            print(f"  note: {note}")

    print("\nTargets (issues 21 and 22):\n")
    for o in outcomes:
        checks = [
            ("0 lost", o.lost == 0),
            ("0 started again", bool(o.jobs) and o.jobs["started_again"] == 0),
            (f"/health < {TARGETS['health_s']:.0f} s", o.worst_health_s < TARGETS["health_s"]),
        ]
        if o.scenario in NO_FAULT:
            within = o.ratio is not None and o.ratio <= TARGETS["ratio"]
            checks.append((f"drain <= {TARGETS['ratio']:.0f}x pure", within))
            checks.append(
                (
                    f"orchestration < {TARGETS['orchestration_ms']:.0f} ms",
                    o.orchestration_ms_per_request is not None
                    and o.orchestration_ms_per_request < TARGETS["orchestration_ms"],
                )
            )
        elif o.scenario == SCALE_OUT:
            checks.append(
                (
                    f"proving faster with the second machine ({fmt(o.rate_before, '.2f')} -> "
                    f"{fmt(o.rate_after, '.2f')} jobs/s)",
                    o.rate_before is not None and o.rate_after is not None and o.rate_after > o.rate_before,
                )
            )
        else:
            checks.append(
                (
                    f"full speed within {TARGETS['recovered_s']:.0f} s",
                    o.recovered_s is not None and o.recovered_s <= TARGETS["recovered_s"],
                )
            )
        print(f"- {o.scenario}: " + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in checks))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per scenario (default 1000)")
    parser.add_argument(
        "--scenarios",
        default="default",
        help=f"comma-separated subset of {', '.join(SCENARIOS)}; 'default' is all but {SCALE_OUT}, 'all' all",
    )
    parser.add_argument("--keys", type=int, default=4, help="API keys the requests come from")
    parser.add_argument("--concurrency", type=int, default=16, help="client connections submitting")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="processes per proofs machine")
    parser.add_argument("--fault-machines", type=int, default=2, help="proofs machines in the fault scenarios")
    parser.add_argument("--postgres-down-seconds", type=float, default=20.0)
    parser.add_argument("--compute-samples", type=int, default=50, help="requests in the pure-compute sample (0: all)")
    parser.add_argument("--timeout", type=float, default=0, help="per scenario (default from the pure compute)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--run-dir", type=Path, default=None, help="default: a fresh directory under /tmp")
    args = parser.parse_args()
    named = {"all": SCENARIOS, "default": DEFAULT_SCENARIOS}
    chosen = named.get(args.scenarios) or tuple(s.strip() for s in args.scenarios.split(","))
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))} (known: {', '.join(SCENARIOS)})")
    if args.requests < 1 or args.keys < 1 or args.fault_machines < 1 or args.worker_concurrency < 1:
        parser.error("--requests, --keys, --fault-machines and --worker-concurrency must be >= 1")
    if any(s in FAULTS for s in chosen):  # the rate recovery is measured against
        baseline = next((name for name, m in NO_FAULT.items() if m == args.fault_machines), None)
        if baseline and baseline not in chosen:
            chosen = (baseline, *chosen)
    plan = [s for s in SCENARIOS if s in chosen]  # always in the documented order
    machines_of = {**NO_FAULT, SCALE_OUT: 1, **{f: args.fault_machines for f in FAULTS}}

    run_dir = args.run_dir or Path("/tmp") / f"fossil-bench-load-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    bench = BenchStack(run_dir, args.worker_concurrency, args.keys)

    # as make run: the first signal stops the stack, one arriving during the stop (timeout(1) or
    # a process group passes its own on) never abandons it half-way, a later one forces it
    stop_signals = devstack.StopSignals(bench.stack)
    for signum in devstack.STOP_SIGNALS:
        signal.signal(signum, stop_signals.handle)
    outcomes: list[Outcome] = []
    try:
        keys = bench.start()
        records.setup_django(bench.env_for("bench"))
        print(
            f"stack up: web {bench.base}, SQS {bench.moto_url} behind {bench.proxy_url}, run dir {run_dir}; "
            f"processes {', '.join(bench.supervised)} (proofs worker: {bench.proofs_worker}); "
            f"queues {', '.join(sorted(bench.queue_depths()))} ({bench.settings['prefix']}*)",
            flush=True,
        )
        sampler = cpu.CpuSampler(bench.roots, self_only=frozenset({"load client (bench)"}))
        sampler.start()
        baseline_rates: dict[int, float] = {}
        for number, scenario in enumerate(plan):
            machines = machines_of[scenario]
            print(f"\nscenario {scenario}: {args.requests} requests, {machines} proofs machine(s)", flush=True)
            outcome = run_scenario(
                bench, sampler, keys, scenario, machines, number * args.requests, args, baseline_rates
            )
            outcomes.append(outcome)
            print(
                f"  first Completed after {fmt(outcome.first_completed_s)} s, "
                f"drained in {fmt(outcome.drain_s)} s (pure {outcome.pure_compute_s:.1f} s, ratio "
                f"{fmt(outcome.ratio, '.2f')}), lost {outcome.lost}, worst /health {outcome.worst_health_s:.2f} s",
                flush=True,
            )
        print_report(outcomes)
        print(
            f"\nload average at the end (1/5/15 min): {fmt_load(os.getloadavg())} on {os.cpu_count()} CPUs",
            flush=True,
        )
        return 0 if all(o.lost == 0 and o.jobs and o.jobs["proofs"] == o.jobs["jobs"] for o in outcomes) else 1
    except KeyboardInterrupt:
        print("bench-load: interrupted", file=sys.stderr)
        if outcomes:
            print_report(outcomes)
        return 130
    finally:
        if args.json and outcomes:
            args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=2, default=str))
            print(f"figures written to {args.json}")
        bench.stop()


if __name__ == "__main__":
    sys.exit(main())
