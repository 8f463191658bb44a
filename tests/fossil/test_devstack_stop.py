"""`make run` stops when its process group is signalled, as a supervisor, `docker stop` or a
closed terminal does it: every process it started ends (web, workers, beat, SQS, Postgres),
no listener is left, and the next start finds its ports free."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_REQUEST, REPO, devstack, wait_until

# What the test suite's own stack put in the environment: the stack under test starts its own.
OWN_STACK_VARIABLES = (
    "DATABASE_URL",
    "AWS_ENDPOINT_URL_SQS",
    "SQS_QUEUE_PREFIX",
    "FOSSIL_RUN_DIR",
    "XDG_RUNTIME_DIR",
    "PORT",
    "PROVING_SERVICE_URL",
    "OFFCHAIN_CALLBACK_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "PROVER_KEY_FILE",
    "WORKER_HEARTBEAT_FILE",
    "STATIC_ROOT",
)


def process_start_times() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every process (the start time tells a reused pid apart)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":  # a zombie has ended; only its parent has not collected it yet
            continue
        table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def stack_processes(root: int, pgdata: Path) -> set[tuple[int, str]]:
    """The devstack process, everything below it, and the Postgres it started (pg_ctl detaches it)."""
    table = process_start_times()
    roots = {root}
    postmaster_pid = pgdata / "postmaster.pid"
    if postmaster_pid.exists():
        roots.add(int(postmaster_pid.read_text().split()[0]))
    found, frontier = set(), set(roots)
    while frontier:
        found |= frontier
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - found
    return {(pid, table[pid][1]) for pid in found if pid in table}


class RunningStack:
    def __init__(self, run_dir: Path, port: int):
        self.run_dir = run_dir
        self.port = port
        self.log = run_dir / f"run-{time.monotonic_ns()}.log"
        env = {name: value for name, value in os.environ.items() if name not in OWN_STACK_VARIABLES}
        env.update(FOSSIL_RUN_DIR=str(run_dir), PYTHONUNBUFFERED="1")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [devstack.PYTHON, "scripts/devstack.py", "run", "--port", str(port), "--worker-concurrency", "1"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as `make run` in a terminal
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_up(self) -> str:
        def up():
            assert self.proc.poll() is None, f"devstack exited:\n{self.output()[-3000:]}"
            return "=== Fossil is up" in self.output()

        wait_until(up, timeout=300, interval=1, what="make run to come up")
        return re.search(r"^API key: (\S+)$", self.output(), re.M).group(1)

    def sqs_port(self) -> int:
        endpoint = re.search(r"^AWS_ENDPOINT_URL_SQS=(\S+)$", (self.run_dir / "env").read_text(), re.M).group(1)
        return int(endpoint.rsplit(":", 1)[1])

    def submit(self, api_key: str, count: int) -> list[int]:
        codes = []
        for n in range(count):
            body = json.loads(json.dumps(EXAMPLE_REQUEST))
            body["client_info"]["timestamp"] += n + int(time.time())  # a new request each time
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/pricing_data",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "X-API-Key": api_key},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                codes.append(response.status)
        return codes

    def signal_group(self, signum: int, times: int = 1) -> None:
        for _ in range(times):  # GNU make passes the group's SIGTERM on: devstack gets it twice
            os.killpg(self.proc.pid, signum)
            time.sleep(0.05)

    def close(self) -> None:
        """After a failed test: devstack stops what it started (a SIGKILL would leave it running)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def wait_stopped(self) -> float:
        started = time.monotonic()
        self.proc.wait(timeout=90)
        return time.monotonic() - started


def assert_all_gone(processes: set[tuple[int, str]], ports: list[int], pgdata: Path) -> None:
    def gone():
        table = process_start_times()
        return not {(pid, start) for pid, start in processes if table.get(pid, (0, ""))[1] == start}

    wait_until(gone, timeout=10, what="every process of the stack to end")
    for port in ports:
        assert devstack.port_is_free(port), f"port {port} still taken"
    assert not list(pgdata.glob(".s.PGSQL.*")), "Postgres' socket is still there"
    assert not (pgdata / "postmaster.pid").exists()


@pytest.mark.e2e
def test_signalling_the_group_stops_every_process_and_a_new_run_starts_on_the_same_ports():
    run_dir = Path(tempfile.mkdtemp(prefix="fossil-stop-test-", dir="/tmp"))
    pgdata = run_dir / "pg-run" / "data"
    port = devstack.free_port()

    first = RunningStack(run_dir, port)
    try:
        api_key = first.wait_up()
        sqs_port = first.sqs_port()
        assert first.submit(api_key, 3) == [201, 201, 201]
        processes = stack_processes(first.proc.pid, pgdata)
        assert len(processes) >= 10  # devstack, Postgres, moto, gunicorn, two workers, beat and children
        first.signal_group(signal.SIGTERM, times=2)
        seconds = first.wait_stopped()
    finally:
        first.close()
    print(f"first stop (SIGTERM twice to the group): {seconds:.1f}s, load average {os.getloadavg()}")
    assert first.proc.returncode == 0
    assert_all_gone(processes, [port, sqs_port], pgdata)
    assert "Traceback" not in first.output().split("stopping", 1)[1]

    second = RunningStack(run_dir, port)
    try:
        api_key = second.wait_up()
        assert second.submit(api_key, 2) == [201, 201]
        processes = stack_processes(second.proc.pid, pgdata)
        sqs_port = second.sqs_port()
        second.signal_group(signal.SIGINT)
        seconds = second.wait_stopped()
    finally:
        second.close()
    print(f"second stop (SIGINT to the group): {seconds:.1f}s")
    assert second.proc.returncode == 0
    assert_all_gone(processes, [port, sqs_port], pgdata)
    assert "Traceback" not in second.output().split("stopping", 1)[1]


STUBBORN = [
    devstack.PYTHON,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)",
]


def started_stubborn(stack, grace: float):
    """A child that ignores SIGTERM, once it has set that up."""
    proc = stack.spawn(STUBBORN, grace=grace)
    time.sleep(1.5)
    return proc


def test_a_child_that_ignores_sigterm_is_killed_after_its_grace_period(tmp_path, monkeypatch):
    monkeypatch.setenv("FOSSIL_RUN_DIR", str(tmp_path))
    stack = devstack.Stack("grace-test")
    proc = started_stubborn(stack, grace=1)
    stack.stop()
    assert proc.returncode == -signal.SIGKILL
    assert stack.children == []


def test_a_second_signal_cuts_the_grace_periods_short(tmp_path, monkeypatch):
    monkeypatch.setenv("FOSSIL_RUN_DIR", str(tmp_path))
    stack = devstack.Stack("force-test")
    proc = started_stubborn(stack, grace=600)
    stopping = threading.Thread(target=stack.stop, daemon=True)
    stopping.start()
    time.sleep(0.5)
    assert stopping.is_alive()  # waiting out the grace period
    stack.forced.set()
    stopping.join(timeout=60)
    assert not stopping.is_alive()
    assert proc.returncode == -signal.SIGKILL


def test_a_repeated_signal_while_stopping_never_raises_and_a_later_one_forces(tmp_path, monkeypatch):
    monkeypatch.setenv("FOSSIL_RUN_DIR", str(tmp_path))
    stack = devstack.Stack("signals-test")
    signals = devstack.StopSignals(stack)
    with pytest.raises(KeyboardInterrupt):
        signals.handle(signal.SIGTERM, None)
    signals.handle(signal.SIGTERM, None)  # make's copy of the same SIGTERM: ignored
    assert not stack.forced.is_set()
    signals.first -= devstack.SAME_STOP_SECONDS + 1
    signals.handle(signal.SIGINT, None)
    assert stack.forced.is_set()


def test_a_first_signal_during_a_stop_already_under_way_does_not_raise(tmp_path, monkeypatch):
    monkeypatch.setenv("FOSSIL_RUN_DIR", str(tmp_path))
    stack = devstack.Stack("late-signal-test")
    stack.stopping = True
    devstack.StopSignals(stack).handle(signal.SIGTERM, None)
    assert not stack.forced.is_set()
