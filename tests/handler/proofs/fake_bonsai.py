"""A Bonsai-compatible HTTP server for tests (routes of docs/proofs.md).

Two ``ThreadingHTTPServer`` instances on 127.0.0.1: the API, and a "storage"
server standing in for S3. Presigned URLs handed out by the API name the storage
server as ``http://localhost:<port>/...`` - a different host from the API's
``127.0.0.1`` - so tests can prove the API key is never sent there.

Behaviour is scripted through ``FakeBonsai`` attributes:

* ``faults[(METHOD, route)]``: list of ``(status, body)`` answers served (and
  popped) before the normal answer; ``route`` is the first path segment(s),
  e.g. ``"sessions/create"``, ``"sessions/status"``, ``"inputs/upload"``, ``"storage"``.
* ``session_script`` / ``snark_script``: list of status dicts returned by
  successive polls (the last one repeats).
* ``receipt_bytes``: what the SNARK output URL serves (default: the real receipt).
* ``receipt_for_input``: if set, called with the last uploaded input; its result is served
  instead (a scripted "guest" whose journal follows the input).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    server: str
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class FakeBonsai:
    receipt_bytes: bytes
    api_key: str = "test-key"
    images: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)
    snarks: dict = field(default_factory=dict)
    stopped: list = field(default_factory=list)
    faults: dict = field(default_factory=dict)
    session_script: list = field(
        default_factory=lambda: [{"status": "RUNNING", "state": "Executor"}, {"status": "SUCCEEDED"}]
    )
    snark_script: list = field(default_factory=lambda: [{"status": "RUNNING"}, {"status": "SUCCEEDED"}])
    seen: list = field(default_factory=list)
    stop_supported: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    api_url: str = ""
    storage_url: str = ""
    receipt_for_input: object = None

    def calls(self, method: str, route: str, server: str = "api") -> list[Seen]:
        return [
            s for s in self.seen if s.server == server and s.method == method and s.path.lstrip("/").startswith(route)
        ]


def _handler(state: FakeBonsai, server_name: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output quiet
            pass

        def _reply(self, status: int, body: bytes | dict | str = b"", ctype: str = "application/json") -> None:
            if isinstance(body, dict):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204:
                self.wfile.write(body)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path
            with state.lock:
                state.seen.append(
                    Seen(server_name, method, path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            parts = path.strip("/").split("/")
            route = "storage" if server_name == "storage" else "/".join(parts[:2])
            with state.lock:
                queue = state.faults.get((method, route))
                fault = queue.pop(0) if queue else None
            if fault is not None:
                self._reply(*fault)
                return
            if server_name == "storage":
                self._storage(method, parts, body)
            else:
                if self.headers.get("x-api-key") != state.api_key:
                    self._reply(401, {"type": "Unauthorized", "msg": "bad api key"})
                    return
                self._api(method, parts, body)

        def _storage(self, method: str, parts: list[str], body: bytes) -> None:
            kind, ident = parts[0], parts[-1]
            if method == "PUT" and kind == "images":
                state.images[ident] = body
                self._reply(200)
            elif method == "PUT" and kind == "inputs":
                state.inputs[ident] = body
                self._reply(200)
            elif method == "GET" and kind == "receipts":
                receipt = state.receipt_bytes
                if state.receipt_for_input is not None and state.inputs:
                    receipt = state.receipt_for_input(list(state.inputs.values())[-1])
                self._reply(200, receipt, "application/octet-stream")
            else:
                self._reply(404, {"type": "NotFound", "msg": "no such object"})

        def _api(self, method: str, parts: list[str], body: bytes) -> None:
            store = state.storage_url
            head = "/".join(parts[:2])
            if method == "GET" and head.startswith("images/upload"):
                if parts[2] in state.images:
                    self._reply(204)
                else:
                    self._reply(200, {"url": f"{store}/images/{parts[2]}"})
            elif method == "GET" and head == "inputs/upload":
                u = str(uuid.uuid4())
                self._reply(200, {"url": f"{store}/inputs/{u}", "uuid": u})
            elif method == "POST" and head == "sessions/create":
                req = json.loads(body)
                if req.get("img") not in state.images:
                    self._reply(400, {"type": "ImageMissing", "msg": "image not uploaded"})
                    return
                if req.get("input") not in state.inputs:
                    self._reply(400, {"type": "InputMissing", "msg": "input not uploaded"})
                    return
                u = str(uuid.uuid4())
                state.sessions[u] = {"req": req, "polls": 0}
                self._reply(200, {"uuid": u})
            elif method == "GET" and head == "sessions/status":
                s = state.sessions.get(parts[2])
                if s is None:
                    self._reply(500, {"type": "InternalErr", "msg": "unknown session"})
                    return
                i = min(s["polls"], len(state.session_script) - 1)
                s["polls"] += 1
                st = {"receipt_url": None, "error_msg": None, "state": None, "elapsed_time": 1.5, "stats": None}
                st.update(state.session_script[i])
                if st["status"] == "SUCCEEDED":
                    st["receipt_url"] = f"{store}/receipts/stark/{parts[2]}"
                    st["stats"] = {"segments": 2, "total_cycles": 2097152, "cycles": 1500000}
                self._reply(200, st)
            elif method == "GET" and head == "sessions/stop":
                if not state.stop_supported:
                    self._reply(404, "")
                    return
                state.stopped.append(parts[2])
                self._reply(200, {})
            elif method == "POST" and head == "snark/create":
                req = json.loads(body)
                if req.get("session_id") not in state.sessions:
                    self._reply(500, {"type": "InternalErr", "msg": "unknown session"})
                    return
                u = str(uuid.uuid4())
                state.snarks[u] = {"polls": 0}
                self._reply(200, {"uuid": u})
            elif method == "GET" and head == "snark/status":
                s = state.snarks.get(parts[2])
                if s is None:
                    self._reply(500, {"type": "InternalErr", "msg": "unknown snark"})
                    return
                i = min(s["polls"], len(state.snark_script) - 1)
                s["polls"] += 1
                st = {"output": None, "error_msg": None}
                st.update(state.snark_script[i])
                if st["status"] == "SUCCEEDED" and st["output"] is None:
                    st["output"] = f"{store}/receipts/groth16/{parts[2]}"
                self._reply(200, st)
            elif method == "GET" and parts[0] == "receipts" and len(parts) == 2:
                if parts[1] in state.sessions:
                    self._reply(200, {"url": f"{store}/receipts/stark/{parts[1]}"})
                else:
                    self._reply(404, {"type": "ReceiptMissing", "msg": "receipt not found"})
            else:
                self._reply(404, {"type": "NotFound", "msg": f"no route {method} /{'/'.join(parts)}"})

        def do_GET(self):  # noqa: N802
            self._handle("GET")

        def do_PUT(self):  # noqa: N802
            self._handle("PUT")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

    return Handler


class FakeBonsaiServer:
    def __init__(self, state: FakeBonsai) -> None:
        self.state = state
        self.api = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, "api"))
        self.storage = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, "storage"))
        self.api.daemon_threads = self.storage.daemon_threads = True
        state.api_url = f"http://127.0.0.1:{self.api.server_address[1]}"
        state.storage_url = f"http://localhost:{self.storage.server_address[1]}"
        self._threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            for s in (self.api, self.storage)
        ]

    def __enter__(self) -> FakeBonsai:
        for t in self._threads:
            t.start()
        return self.state

    def __exit__(self, *exc) -> None:
        for s in (self.api, self.storage):
            s.shutdown()
            s.server_close()
        for t in self._threads:
            t.join(timeout=5)
