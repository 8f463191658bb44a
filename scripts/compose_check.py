"""Runs docker-compose.yml for real (`make compose-check`), where a container engine runs.

On a copy of the repository (its tracked files; the operator's deploy/secrets stay untouched):
make-secrets.sh (every secret 0600), `up --build`, every long-running service healthy and the
setup job exited 0, a pricing request from the README completed through the stack, then queued
work that outlives a restart of the SQS server (ElasticMQ's volume), and `down -v` at the end
whatever happened. One line per step with its elapsed time.

Without an engine (`docker info` fails) or a compose client it says so and exits 0 (skipped);
--require-engine makes that a failure (exit 1). A failed check exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LONG_RUNNING = ("postgres", "sqs", "web", "worker-proofs", "worker-outcomes", "worker-housekeeping", "beat")
WORKERS = ("worker-proofs", "worker-outcomes", "worker-housekeeping", "beat")
BUILD_TIMEOUT = 3600  # a cold build compiles the garaga extra
HEALTH_TIMEOUT = 300
REQUEST_TIMEOUT = 600
STARTED = time.monotonic()


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"compose-check [{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def engine_problem() -> str | None:
    """Why the compose file cannot run here, or None when an engine and a compose client answer."""
    if not shutil.which("docker"):
        return "no docker client on PATH"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30 s"
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no reason given"])[-1]
        return f"no container engine answers (`docker info`: {reason})"
    if compose_client() is None:
        return "the engine runs, but neither `docker compose` nor `docker-compose` is installed"
    return None


def compose_client() -> list[str] | None:
    for argv in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(argv[0]) is None:
            continue
        if subprocess.run([*argv, "version"], capture_output=True, timeout=30).returncode == 0:
            return argv
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    def __init__(self, project_dir: Path, name: str, web_port: int):
        client = compose_client()
        assert client is not None
        self.base = [*client, "--project-directory", str(project_dir), "-p", name]
        self.dir = project_dir
        self.env = {**os.environ, "FOSSIL_WEB_PORT": str(web_port)}
        self.url = f"http://127.0.0.1:{web_port}"

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        result = subprocess.run(
            [*self.base, *args], cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise CheckFailed(f"`compose {' '.join(args)}` exited {result.returncode}: {result.stderr.strip()[-2000:]}")
        return result.stdout

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-a", "-q", service).split()
        if not ids:
            raise CheckFailed(f"no container for {service}")
        return ids[0]

    def state(self, service: str) -> dict:
        out = subprocess.run(
            ["docker", "inspect", "--format", "{{json .State}}", self.container(service)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        return json.loads(out)

    def wait_healthy(self, services, timeout: float = HEALTH_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(services)
        while waiting:
            states = {service: self.state(service) for service in waiting}
            for service, st in states.items():
                if st.get("Status") == "exited":
                    raise CheckFailed(f"{service} exited with {st.get('ExitCode')}:\n{self.logs(service)}")
            waiting = [s for s, st in states.items() if (st.get("Health") or {}).get("Status") != "healthy"]
            if waiting and time.monotonic() > deadline:
                health = {s: (states[s].get("Health") or {}).get("Status", "no healthcheck") for s in waiting}
                raise CheckFailed(f"not healthy within {timeout:.0f}s: {health}\n{self.logs(*waiting)}")
            if waiting:
                time.sleep(3)

    def logs(self, *services: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "40", *services, check=False)[-6000:]

    def manage(self, *args: str) -> str:
        return self.compose("exec", "-T", "web", "python", "manage.py", *args, timeout=600)

    def waiting_messages(self) -> int:
        """Messages waiting or in flight on the work queues (`dead_letters list`)."""
        out = self.manage("dead_letters", "list")
        return sum(int(a) + int(b) for a, b in re.findall(r"(\d+) waiting, (\d+) in flight", out))


def http(method: str, url: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"X-API-Key": key, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_completed(stack: Stack, key: str, job_id: str, timeout: float = REQUEST_TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        _, body = http("GET", f"{stack.url}/job_status/{job_id}", key)
        if body.get("status") == "Completed":
            return body
        if body.get("status") == "Failed":
            raise CheckFailed(f"request {job_id} failed: {body.get('error_code')}: {body.get('error')}")
        if time.monotonic() > deadline:
            raise CheckFailed(f"request {job_id} still {body.get('status')} after {timeout:.0f}s\n{stack.logs()}")
        time.sleep(3)


def copy_project(target: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = REPO / name.decode()
        if source.is_file():
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name.decode())


def check_secret_modes(project: Path) -> None:
    secrets_dir = project / "deploy" / "secrets"
    loose = {
        path.name: oct(stat.S_IMODE(path.stat().st_mode))
        for path in secrets_dir.iterdir()
        if path.name != "README.md" and stat.S_IMODE(path.stat().st_mode) != 0o600
    }
    if loose or stat.S_IMODE(secrets_dir.stat().st_mode) != 0o700:
        raise CheckFailed(f"secrets not private: {loose or oct(stat.S_IMODE(secrets_dir.stat().st_mode))}")


def run_checks(stack: Stack) -> None:
    say("building the image and starting the stack (`up -d --build`)")
    stack.compose("up", "-d", "--build", timeout=BUILD_TIMEOUT)
    say("waiting for every long-running service to be healthy")
    stack.wait_healthy(LONG_RUNNING)
    setup = stack.state("setup")
    if setup.get("Status") != "exited" or setup.get("ExitCode") != 0:
        raise CheckFailed(f"setup did not complete: {setup}\n{stack.logs('setup')}")
    say("healthy: " + ", ".join(LONG_RUNNING) + "; setup exited 0")

    example = json.loads((stack.dir / "docs" / "example_request.json").read_text())
    start = min(window[0] for window in example["params"].values())
    end = max(window[1] for window in example["params"].values())
    stack.manage("seed_demo_chain", "--start", str(start - 86400), "--end", str(end + 3600))
    key = stack.manage("create_api_key", "compose-check", "--quiet").strip()
    status, body = http("POST", f"{stack.url}/pricing_data", key, example)
    if status not in (200, 201):
        raise CheckFailed(f"POST /pricing_data answered {status}: {body}")
    say(f"request {body['job_id'][:12]}… submitted; waiting for it to complete")
    done = wait_completed(stack, key, body["job_id"])
    say(f"completed with {sorted(done['results'])}")

    say("queued work across an SQS restart: workers and beat stopped, a second request queued")
    stack.compose("stop", *WORKERS)
    second = {
        **example,
        "client_info": {**example["client_info"], "timestamp": example["client_info"]["timestamp"] + 1},
    }
    status, body = http("POST", f"{stack.url}/pricing_data", key, second)
    if status != 201:
        raise CheckFailed(f"second POST /pricing_data answered {status}: {body}")
    deadline = time.monotonic() + 60
    while (before := stack.waiting_messages()) == 0 and time.monotonic() < deadline:
        time.sleep(1)
    if before == 0:
        raise CheckFailed("nothing was queued for the stopped workers")
    stack.compose("restart", "sqs")
    stack.wait_healthy(["sqs"])
    after = stack.waiting_messages()
    if after != before:
        raise CheckFailed(f"{before} queued message(s) before the SQS restart, {after} after")
    say(f"{after} queued message(s) kept across the restart; starting the workers again")
    stack.compose("start", *WORKERS)
    wait_completed(stack, key, body["job_id"])
    say("the queued request completed after the restart")


def main() -> int:
    parser = argparse.ArgumentParser(prog="compose-check", description=__doc__.splitlines()[0])
    parser.add_argument("--require-engine", action="store_true", help="fail (exit 1) instead of skipping")
    parser.add_argument("--keep", action="store_true", help="leave the stack and its copy for inspection")
    args = parser.parse_args()
    problem = engine_problem()
    if problem:
        say(f"skipped: {problem}")
        return 1 if args.require_engine else 0
    project = Path(tempfile.mkdtemp(prefix="fossil-compose-check-"))
    copy_project(project)
    stack = Stack(project, f"fossilcheck{os.getpid()}", free_port())
    try:
        say(f"project copy in {project}; secrets from deploy/make-secrets.sh")
        subprocess.run([str(project / "deploy" / "make-secrets.sh")], check=True, capture_output=True, timeout=120)
        check_secret_modes(project)
        run_checks(stack)
    except (CheckFailed, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        say(f"FAILED: {exc}")
        return 1
    finally:
        if not args.keep:
            stack.compose("down", "-v", "--remove-orphans", timeout=300, check=False)
            shutil.rmtree(project, ignore_errors=True)
    say("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
