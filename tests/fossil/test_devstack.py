"""make run's helpers: the free-port check and the supervisor of web, worker and beat."""

from __future__ import annotations

import importlib.util
import socket
import sys
import time

import pytest

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("devstack", REPO / "scripts" / "devstack.py")
devstack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(devstack)


def _port_in_time_wait() -> int:
    """A port whose server closed its side first: only a TIME-WAIT socket remains on it."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server closes first: its end goes to TIME-WAIT
        time.sleep(0.1)
        client.close()
    return port


def test_a_port_left_in_time_wait_counts_as_free():
    port = _port_in_time_wait()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # what the old check did: "port is taken"
    assert devstack.port_is_free(port)


def test_a_port_someone_listens_on_is_taken():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert not devstack.port_is_free(server.getsockname()[1])


def test_the_supervisor_starts_an_exited_process_again(tmp_path, monkeypatch):
    monkeypatch.setenv("FOSSIL_RUN_DIR", str(tmp_path))
    stack = devstack.Stack("supervise-test")
    counter = tmp_path / "starts"
    argv = [sys.executable, "-c", f"open({str(counter)!r}, 'a').write('x'); raise SystemExit(3)"]
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    supervised = {"worker": argv, "web": sleeper}
    running = {name: stack.spawn(cmd) for name, cmd in supervised.items()}
    web = running["web"]
    try:
        devstack.supervise(stack, supervised, running, until=time.monotonic() + 5)
        assert counter.read_text().count("x") >= 3  # exited with 3, started again (1 s, then 2 s pauses)
        assert running["web"] is web and web.poll() is None  # the others are left alone
    finally:
        stack.stop()
