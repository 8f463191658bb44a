"""An HTTP proxy in front of the SQS server that counts what goes through it.

    python benchmarks/load/sqs_proxy.py --port P --upstream http://127.0.0.1:M

Every process of the stack talks to SQS through it (AWS_ENDPOINT_URL_SQS), so it sees each
call whatever client library sent it: calls by action, messages sent, received and deleted by
queue. `GET /__bench__/counts` answers the totals as JSON (they only grow); `POST
/__bench__/upstream` with a URL as the body points it at another SQS server. While the SQS
server is down, a call's connection is reset, as a client sees a server that went away.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import struct
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONTROL_PREFIX = "/__bench__/"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.deleted: Counter[str] = Counter()
        self.upstream_failures = 0

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps(
                {
                    "calls": dict(self.calls),
                    "sent": dict(self.sent),
                    "received": dict(self.received),
                    "deleted": dict(self.deleted),
                    "upstream_failures": self.upstream_failures,
                }
            ).encode()


def queue_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1] if url else "-"


def read_call(headers, body: bytes) -> tuple[str, str, int, int]:
    """(action, queue, messages sent, messages deleted) of one SQS call, in the JSON protocol
    (X-Amz-Target, what botocore speaks to SQS now) or the older query protocol."""
    target = headers.get("X-Amz-Target")
    if target:
        action = target.rsplit(".", 1)[-1]
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        entries = len(payload.get("Entries") or [])
        queue = queue_of(payload.get("QueueUrl", ""))
    else:
        form = parse_qs(body.decode(errors="replace"))
        action = (form.get("Action") or ["?"])[0]
        entries = sum(1 for name in form if name.endswith(".Id") and "BatchRequestEntry." in name)
        queue = queue_of((form.get("QueueUrl") or [""])[0])
    sent = 1 if action == "SendMessage" else entries if action == "SendMessageBatch" else 0
    deleted = 1 if action == "DeleteMessage" else entries if action == "DeleteMessageBatch" else 0
    return action, queue, sent, deleted


def messages_received(answer: bytes) -> int:
    if answer.lstrip().startswith(b"{"):
        try:
            return len(json.loads(answer).get("Messages") or [])
        except ValueError:
            return 0
    return answer.count(b"<Message>")


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    server: ProxyServer

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass

    def do_GET(self):
        if self.path.startswith(CONTROL_PREFIX + "counts"):
            self.reply(200, self.server.counts.as_json())
        else:
            self.forward()

    def do_POST(self):
        if self.path.startswith(CONTROL_PREFIX + "upstream"):
            self.server.upstream = self.read_body().decode().strip()
            self.reply(200, b"{}")
        else:
            self.forward()

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def upstream_connection(self) -> http.client.HTTPConnection:
        wanted = self.server.upstream
        current = getattr(self, "_upstream", None)
        if current is None or getattr(self, "_upstream_url", None) != wanted:
            parts = urlsplit(wanted)
            current = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            self._upstream, self._upstream_url = current, wanted
        return current

    def forward(self) -> None:
        body = self.read_body()
        action, queue, sent, deleted = read_call(self.headers, body)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            connection = self.upstream_connection()
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException):
            self._upstream = None
            with self.server.counts.lock:
                self.server.counts.upstream_failures += 1
            # reset, not a 5xx: what a client of a server that went away sees
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        counts = self.server.counts
        with counts.lock:
            counts.calls[action] += 1
            if answer.status < 300:
                counts.sent[queue] += sent
                counts.deleted[queue] += deleted
                if action == "ReceiveMessage":
                    counts.received[queue] += messages_received(payload)
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, upstream: str):
        super().__init__(("127.0.0.1", port), ProxyHandler)
        self.upstream = upstream
        self.counts = Counts()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    server = ProxyServer(args.port, args.upstream)
    print(f"sqs proxy on 127.0.0.1:{args.port} -> {args.upstream}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
