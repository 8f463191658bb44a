"""Helpers for the chain tests: demo headers, forks, a fake JSON-RPC node."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from handler.chain.demo import ANCHOR, BLOCK_TIME, generate_chain
from handler.chain.header import compute_block_hash, header_to_rpc

VECTORS = Path(__file__).resolve().parents[3] / "tests" / "data"
DEMO_START = ANCHOR + BLOCK_TIME * 7_000_000  # any grid point will do


def demo_headers(count: int, seed: int = 7, start: int = DEMO_START) -> list[dict]:
    return list(generate_chain(start, start + BLOCK_TIME * count, seed))


def refork(headers: list[dict], from_index: int, salt: str = "b") -> list[dict]:
    """A competing chain: headers[:from_index] unchanged, later blocks altered and
    re-hashed so they link to each other (a reorg from headers[from_index])."""
    out = [dict(h) for h in headers[:from_index]]
    for h in headers[from_index:]:
        new = dict(h)
        new["state_root"] = "0x" + (salt.encode().hex() * 64)[:64]
        new["extra_data"] = "0x" + ("fork-" + salt).encode().hex()
        if out:
            new["parent_hash"] = out[-1]["hash"]
        new["hash"] = compute_block_hash(new)
        out.append(new)
    return out


class FakeNode:
    """A JSON-RPC node on 127.0.0.1 serving eth_getBlockByNumber / eth_blockNumber."""

    def __init__(self):
        self.blocks: dict[int, dict] = {}
        self.fail_next = 0
        self.requests = 0
        self.requested_numbers: list[int] = []
        self.lock = threading.Lock()
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with node.lock:
                    node.requests += 1
                    if node.fail_next > 0:
                        node.fail_next -= 1
                        self._send(503, b"busy")
                        return
                calls = json.loads(body)
                single = isinstance(calls, dict)
                answers = [node.answer(c) for c in ([calls] if single else calls)]
                self._send(200, json.dumps(answers[0] if single else answers).encode())

            def _send(self, status, payload):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def answer(self, call: dict) -> dict:
        method, params = call.get("method"), call.get("params") or []
        if method == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": call["id"], "result": hex(max(self.blocks))}
        if method == "eth_getBlockByNumber":
            number = int(params[0], 16)
            with self.lock:
                self.requested_numbers.append(number)
            return {"jsonrpc": "2.0", "id": call["id"], "result": self.blocks.get(number)}
        return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32601, "message": "method not found"}}

    def serve(self, blocks: list[dict]) -> None:
        """Replace the node's chain (normalised headers or RPC objects)."""
        self.blocks = {}
        for b in blocks:
            rpc = header_to_rpc(b) if "parent_hash" in b else dict(b)
            self.blocks[int(rpc["number"], 16)] = rpc

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
