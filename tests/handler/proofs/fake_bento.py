"""A Bento-compatible server for tests that enforces what a real one does (docs/proofs.md, "The vault pipeline").

* Images: a session names an image id that was uploaded; an uploaded ELF must be the test
  stand-in ``b"program:<name>"`` of a program whose image id is the one it is uploaded under
  (a real server derives the image id from the ELF).
* Sessions execute the programs for real, through the transcription of their checks
  (``coprocessor.checks``): a program that panics ends its session FAILED with the message.
* The composition session must name, as assumptions, uploaded receipts this server issued, and
  the composition program (``checks.composition_with_assumptions``) accepts only receipts whose
  journals are exactly what its input implies.
* A snark needs a SUCCEEDED session. Its Groth16 receipt carries the session's claim and journal;
  the seal is not a real proof (no prover here), so the pairing check must fail on it.

``tamper[program] = journal`` makes the server commit that journal for the program instead.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from handler.pricing.vault import VaultShape
from handler.proofs.coprocessor.checks import composition_with_assumptions, run_program
from handler.proofs.coprocessor.inputs import COMPOSITION
from handler.proofs.errors import ProgramCheckFailed
from handler.proofs.risc0 import claim as c
from handler.proofs.risc0.receipt import (
    Groth16Receipt,
    MaybePruned,
    Output,
    ParsedClaim,
    SuccinctReceipt,
    SystemState,
    encode_receipt,
    encode_succinct_receipt,
    parse_succinct_receipt,
)


def stand_in_elf(program: str) -> bytes:
    return b"program:" + program.encode()


def _claim(image_id: bytes, journal: bytes) -> MaybePruned:
    return MaybePruned(
        ParsedClaim(
            pre=MaybePruned(pruned=image_id),
            post=MaybePruned(SystemState(0, b"\0" * 32)),
            exit_tag=c.EXIT_HALTED,
            exit_user=0,
            input=MaybePruned(None),
            output=MaybePruned(Output(MaybePruned(journal), MaybePruned([]))),
        )
    )


@dataclass
class Bento:
    shape: VaultShape
    image_ids: dict  # program -> image id
    verifier_parameters: bytes  # a known Groth16 verifier version's
    api_key: str = "test-key"
    images: dict = field(default_factory=dict)  # image hex -> program
    inputs: dict = field(default_factory=dict)
    receipts: dict = field(default_factory=dict)  # uploaded receipt id -> bytes
    issued: dict = field(default_factory=dict)  # receipt bytes -> (image id, journal)
    sessions: dict = field(default_factory=dict)
    snarks: dict = field(default_factory=dict)
    tamper: dict = field(default_factory=dict)
    created: list = field(default_factory=list)  # (program, assumptions) in creation order
    lock: threading.Lock = field(default_factory=threading.Lock)
    api_url: str = ""
    storage_url: str = ""

    def program_of(self, image_hex: str) -> str | None:
        return self.images.get(image_hex)

    def execute(self, session_id: str) -> None:
        s = self.sessions[session_id]
        program, data = s["program"], self.inputs[s["input"]]
        try:
            if program == COMPOSITION:
                held = []
                for rid in s["assumptions"]:
                    held.append(self.issued[self.receipts[rid]])
                journal = composition_with_assumptions(data, self.shape, self.image_ids, held)
            else:
                journal = run_program(program, data, self.shape)
        except ProgramCheckFailed as exc:
            s.update(status="FAILED", error_msg=f"guest panicked: {exc}")
            return
        journal = self.tamper.get(program, journal)
        image_id = self.image_ids[program]
        receipt = encode_succinct_receipt(
            SuccinctReceipt(
                seal=b"\x01\0\0\0" * 8,
                control_id=b"\x02" * 32,
                claim=_claim(image_id, journal),
                hashfn="poseidon2",
                verifier_parameters=b"\x03" * 32,
                inclusion_index=0,
                inclusion_digests=(),
                journal=journal,
                metadata_verifier_parameters=b"\x03" * 32,
            )
        )
        self.issued[receipt] = (image_id, journal)
        s.update(status="SUCCEEDED", receipt=receipt, journal=journal, image_id=image_id)

    def groth16(self, session_id: str) -> bytes:
        s = self.sessions[session_id]
        return encode_receipt(
            Groth16Receipt(
                seal=bytes(range(256)),
                claim=_claim(s["image_id"], s["journal"]),
                verifier_parameters=self.verifier_parameters,
                journal=s["journal"],
                metadata_verifier_parameters=self.verifier_parameters,
            )
        )


def _handler(state: Bento, server: str):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, status: int, body=b"", ctype: str = "application/json") -> None:
            if isinstance(body, dict):
                body = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            with state.lock:
                if server == "storage":
                    self._storage(method, parts, body)
                elif self.headers.get("x-api-key") != state.api_key:
                    self._reply(401, {"type": "Unauthorized", "msg": "bad api key"})
                else:
                    self._api(method, parts, body)

        def _storage(self, method: str, parts: list[str], body: bytes) -> None:
            kind, ident = parts[0], parts[-1]
            if method == "PUT" and kind == "images":
                program = body[len(b"program:") :].decode() if body.startswith(b"program:") else None
                if program is None or state.image_ids.get(program, b"").hex() != ident:
                    self._reply(400, {"type": "ImageIdMismatch", "msg": "the ELF does not have this image id"})
                    return
                state.images[ident] = program
                self._reply(200)
            elif method == "PUT" and kind == "inputs":
                state.inputs[ident] = body
                self._reply(200)
            elif method == "PUT" and kind == "receipts":
                state.receipts[ident] = body
                self._reply(200)
            elif method == "GET" and kind == "receipts" and parts[1] == "stark":
                self._reply(200, state.sessions[ident]["receipt"], "application/octet-stream")
            elif method == "GET" and kind == "receipts" and parts[1] == "groth16":
                self._reply(200, state.groth16(state.snarks[ident]["session"]), "application/octet-stream")
            else:
                self._reply(404, {"type": "NotFound", "msg": "no such object"})

        def _api(self, method: str, parts: list[str], body: bytes) -> None:
            store = state.storage_url
            head = "/".join(parts[:2])
            if method == "GET" and head == "images/upload":
                if parts[2] in state.images:
                    self._reply(204)
                else:
                    self._reply(200, {"url": f"{store}/images/{parts[2]}"})
            elif method == "GET" and head in ("inputs/upload", "receipts/upload"):
                u = str(uuid.uuid4())
                self._reply(200, {"url": f"{store}/{parts[0]}/{u}", "uuid": u})
            elif method == "POST" and head == "sessions/create":
                req = json.loads(body)
                program = state.program_of(req.get("img", ""))
                if program is None:
                    self._reply(400, {"type": "ImageMissing", "msg": "image not uploaded"})
                    return
                if req.get("input") not in state.inputs:
                    self._reply(400, {"type": "InputMissing", "msg": "input not uploaded"})
                    return
                assumptions = list(req.get("assumptions") or [])
                for rid in assumptions:
                    raw = state.receipts.get(rid)
                    if raw is None or raw not in state.issued:
                        self._reply(400, {"type": "ReceiptMissing", "msg": f"assumption {rid} is not a known receipt"})
                        return
                    parse_succinct_receipt(raw)
                u = str(uuid.uuid4())
                state.sessions[u] = {
                    "program": program,
                    "input": req["input"],
                    "assumptions": assumptions,
                    "status": "RUNNING",
                }
                state.created.append((program, assumptions))
                self._reply(200, {"uuid": u})
            elif method == "GET" and head == "sessions/status":
                s = state.sessions.get(parts[2])
                if s is None:
                    self._reply(404, {"type": "SessionMissing", "msg": "unknown session"})
                    return
                if s["status"] == "RUNNING":
                    state.execute(parts[2])
                st = {"status": s["status"], "error_msg": s.get("error_msg"), "state": None, "elapsed_time": 0.1}
                st["receipt_url"] = f"{store}/receipts/stark/{parts[2]}" if s["status"] == "SUCCEEDED" else None
                self._reply(200, st)
            elif method == "GET" and parts[0] == "receipts" and len(parts) == 2:
                s = state.sessions.get(parts[1])
                if s is None or s["status"] != "SUCCEEDED":
                    self._reply(404, {"type": "ReceiptMissing", "msg": "receipt not found"})
                else:
                    self._reply(200, {"url": f"{store}/receipts/stark/{parts[1]}"})
            elif method == "POST" and head == "snark/create":
                req = json.loads(body)
                s = state.sessions.get(req.get("session_id"))
                if s is None or s["status"] != "SUCCEEDED":
                    self._reply(400, {"type": "SessionNotDone", "msg": "a snark needs a SUCCEEDED session"})
                    return
                u = str(uuid.uuid4())
                state.snarks[u] = {"session": req["session_id"]}
                self._reply(200, {"uuid": u})
            elif method == "GET" and head == "snark/status":
                if parts[2] not in state.snarks:
                    self._reply(404, {"type": "SnarkMissing", "msg": "unknown snark"})
                    return
                self._reply(200, {"status": "SUCCEEDED", "output": f"{store}/receipts/groth16/{parts[2]}"})
            else:
                self._reply(404, {"type": "NotFound", "msg": f"no route {method} /{'/'.join(parts)}"})

        def do_GET(self):  # noqa: N802
            self._handle("GET")

        def do_PUT(self):  # noqa: N802
            self._handle("PUT")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

    return Handler


class BentoServer:
    def __init__(self, state: Bento) -> None:
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

    def __enter__(self) -> Bento:
        for t in self._threads:
            t.start()
        return self.state

    def __exit__(self, *exc) -> None:
        for s in (self.api, self.storage):
            s.shutdown()
            s.server_close()
        for t in self._threads:
            t.join(timeout=5)
