"""The web server as `make run` and production start it (gunicorn -c gunicorn.conf.py):
slow or short-bodied clients are cut off by the read timeout and never block /health."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_REQUEST, REPO, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

READ_TIMEOUT = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health_seconds(port: int) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
        assert answer.status == 200
    return time.monotonic() - started


@pytest.fixture
def web_server(worker_env, tmp_path):
    port = _free_port()
    env = dict(worker_env, WEB_WORKERS="1", WEB_THREADS="4", WEB_READ_TIMEOUT=str(READ_TIMEOUT))
    log = open(tmp_path / "gunicorn.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def answering():
        assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
        try:
            return _health_seconds(port) >= 0
        except OSError:
            return False

    wait_until(answering, timeout=60, what="gunicorn")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def _raw_request(port: int, head: bytes, body: bytes = b"", read_timeout: float = 20) -> tuple[float, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        started = time.monotonic()
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return time.monotonic() - started, answer


def test_a_body_shorter_than_its_content_length_is_400_after_the_read_timeout(web_server, api_key):
    body = json.dumps(EXAMPLE_REQUEST).encode()
    head = (
        "POST /pricing_data HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {api_key}\r\nContent-Length: {len(body) + 1000}\r\n\r\n"
    ).encode()
    seconds, answer = _raw_request(web_server, head, body)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert seconds < READ_TIMEOUT + 3, seconds


def test_slow_partial_headers_do_not_block_health_and_are_cut_off(web_server):
    slow = []
    try:
        for _ in range(3):  # fewer than the worker's threads
            sock = socket.create_connection(("127.0.0.1", web_server), timeout=20)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(sock)
        time.sleep(0.5)
        assert _health_seconds(web_server) < 1
        # More stalled clients than threads: they are cut off after the read timeout, so
        # /health waits at most that long, never indefinitely.
        for _ in range(6):
            sock = socket.create_connection(("127.0.0.1", web_server), timeout=20)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(sock)
        assert _health_seconds(web_server) < 2 * READ_TIMEOUT + 2
        started = time.monotonic()
        assert slow[0].recv(1024) == b""  # the server closed the stalled connection
        assert time.monotonic() - started < 2 * READ_TIMEOUT + 2
    finally:
        for sock in slow:
            sock.close()
