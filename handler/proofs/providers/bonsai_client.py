"""Bonsai / Bento REST client over ``requests`` (docs/proofs.md).

* Headers ``x-api-key``, ``x-risc0-version`` (and optional ``x-risc0-release-channel``)
  go only to URLs on the API origin (scheme, host, port). Presigned upload and
  download URLs on another host get no headers at all. Redirects are not followed
  on API calls (requests would carry custom headers across hosts).
* Every status is checked, raw downloads included.
* Retries with exponential backoff on 5xx, on the concurrency-limit answer (a body
  containing ``SessionCreateErr``), and on connection errors/timeouts; never on
  other 4xx. Retries and per-request timeouts never outlive the caller's deadline.
* Polling: ``wait_session``/``wait_snark`` poll at ``poll_interval`` until the
  status leaves RUNNING. On the deadline the session is stopped (best effort:
  Bento has no stop route) and ``ProofDeadlineExceeded`` (retryable) is raised.
  SUCCEEDED → done; anything else (FAILED, TIMED_OUT, ABORTED, unknown) →
  ``BonsaiSessionFailed`` with the server's ``error_msg``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from ..errors import BonsaiHttpError, BonsaiSessionFailed, ProofConfigurationError, ProofDeadlineExceeded
from ..risc0.receipt import Groth16Receipt, check_groth16_receipt, parse_receipt

log = logging.getLogger(__name__)

TERMINAL_OK = "SUCCEEDED"
RUNNING = "RUNNING"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


@dataclass
class ProveResult:
    receipt: Groth16Receipt
    receipt_bytes: bytes
    session_id: str
    snark_id: str
    stats: dict = field(default_factory=dict)


class BonsaiClient:
    def __init__(
        self,
        api_url: str,
        api_key: str,
        risc0_version: str,
        *,
        request_timeout: float = 30.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        release_channel: str | None = None,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_url:
            raise ProofConfigurationError("BONSAI_API_URL is not set")
        if not api_key:
            raise ProofConfigurationError("BONSAI_API_KEY is not set")
        if not risc0_version:
            raise ProofConfigurationError("BONSAI_RISC0_VERSION is not set")
        self.base_url = api_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._headers = {"x-api-key": api_key, "x-risc0-version": risc0_version}
        if release_channel:
            self._headers["x-risc0-release-channel"] = release_channel
        self.request_timeout = float(request_timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._http = http or requests.Session()
        self._http.trust_env = False  # no proxy/netrc surprises; the key must not leak through them
        self._sleep = sleep
        self._clock = clock

    # ------------------------------------------------------------ transport

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def is_api_origin(self, url: str) -> bool:
        return _origin(url) == self._origin

    def _timeout(self, deadline: float | None) -> float:
        if deadline is None:
            return self.request_timeout
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise ProofDeadlineExceeded("deadline passed before an HTTP request to Bonsai")
        return min(self.request_timeout, remaining)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        ok: tuple[int, ...] = (200,),
        deadline: float | None = None,
        retries: int | None = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """One logical call with retries. ``url`` may be absolute (presigned) or an API path."""
        if "://" not in url:
            url = self._url(url)
        on_api = self.is_api_origin(url)
        headers = dict(self._headers) if on_api else {}
        max_retries = self.max_retries if retries is None else retries
        attempt = 0
        while True:
            try:
                resp = self._http.request(
                    method,
                    url,
                    json=json,
                    data=data,
                    headers=headers,
                    timeout=timeout if timeout is not None else self._timeout(deadline),
                    allow_redirects=not on_api,
                )
                if resp.status_code in ok:
                    return resp
                body = resp.text[:2000]
                err = BonsaiHttpError(
                    f"Bonsai {method} {urlsplit(url).path} answered {resp.status_code}: {body[:200]}",
                    status=resp.status_code,
                    body=body,
                    method=method,
                    url=url,
                )
                try:
                    err.parsed = resp.json()
                except ValueError:
                    pass
            except (requests.ConnectionError, requests.Timeout) as exc:
                err = BonsaiHttpError(
                    f"Bonsai {method} {urlsplit(url).path} failed: {type(exc).__name__}",
                    status=None,
                    method=method,
                    url=url,
                )
            if not err.retryable or attempt >= max_retries:
                raise err
            delay = min(self.backoff_max, self.backoff_base * (2**attempt))
            if deadline is not None and self._clock() + delay >= deadline:
                raise ProofDeadlineExceeded(f"proving deadline reached while retrying: {err}") from err
            log.warning("bonsai retry %d after %s (sleep %.2fs)", attempt + 1, err, delay)
            self._sleep(delay)
            attempt += 1

    def _json(self, resp: requests.Response, *keys: str) -> dict:
        try:
            body = resp.json()
        except ValueError:
            raise BonsaiHttpError(
                f"Bonsai {resp.request.method} {urlsplit(resp.url).path} returned malformed JSON: {resp.text[:100]!r}",
                status=resp.status_code,
                body=resp.text[:2000],
            ) from None
        if not isinstance(body, dict) or any(k not in body for k in keys):
            raise BonsaiHttpError(
                f"Bonsai {resp.request.method} {urlsplit(resp.url).path} returned JSON without {', '.join(keys)}",
                status=resp.status_code,
                body=resp.text[:2000],
            )
        return body

    # ------------------------------------------------------------ routes

    def upload_image(
        self, image_id_hex: str, elf: bytes | Callable[[], bytes | None] | None, *, deadline: float | None = None
    ) -> bool:
        """True if uploaded, False if the image already existed (204)."""
        resp = self.request("GET", f"images/upload/{image_id_hex}", ok=(200, 204), deadline=deadline)
        if resp.status_code == 204:
            return False
        url = self._json(resp, "url")["url"]
        if callable(elf):
            elf = elf()
        if not elf:
            raise ProofConfigurationError(
                "Bonsai does not have the image and no ELF is configured for it (the profile's elf path)"
            )
        self.request("PUT", url, data=elf, ok=(200, 201, 204), deadline=deadline)
        return True

    def upload_input(self, data: bytes, *, deadline: float | None = None) -> str:
        body = self._json(self.request("GET", "inputs/upload", deadline=deadline), "url", "uuid")
        self.request("PUT", body["url"], data=data, ok=(200, 201, 204), deadline=deadline)
        return str(body["uuid"])

    def upload_receipt(self, data: bytes, *, deadline: float | None = None) -> str:
        """Upload a receipt (a session's, to be named as an assumption); returns its receipt id."""
        body = self._json(self.request("GET", "receipts/upload", deadline=deadline), "url", "uuid")
        self.request("PUT", body["url"], data=data, ok=(200, 201, 204), deadline=deadline)
        return str(body["uuid"])

    def create_session(
        self,
        image_id_hex: str,
        input_id: str,
        *,
        assumptions: list[str] | None = None,
        execute_only: bool = False,
        exec_cycle_limit: int | None = None,
        deadline: float | None = None,
    ) -> str:
        payload = {
            "img": image_id_hex,
            "input": input_id,
            "assumptions": list(assumptions or []),
            "execute_only": execute_only,
            "exec_cycle_limit": exec_cycle_limit,
        }
        resp = self.request("POST", "sessions/create", json=payload, deadline=deadline)
        return str(self._json(resp, "uuid")["uuid"])

    def session_status(self, session_id: str, *, deadline: float | None = None) -> dict:
        return self._json(self.request("GET", f"sessions/status/{session_id}", deadline=deadline), "status")

    def stop_session(self, session_id: str, *, timeout: float = 5.0) -> None:
        """Best effort, one attempt, short timeout (Bento has no stop route)."""
        self.request("GET", f"sessions/stop/{session_id}", ok=(200, 201, 204), retries=0, timeout=timeout)

    def create_snark(self, session_id: str, *, deadline: float | None = None) -> str:
        resp = self.request("POST", "snark/create", json={"session_id": session_id}, deadline=deadline)
        return str(self._json(resp, "uuid")["uuid"])

    def snark_status(self, snark_id: str, *, deadline: float | None = None) -> dict:
        return self._json(self.request("GET", f"snark/status/{snark_id}", deadline=deadline), "status")

    def receipt_url(self, session_id: str, *, deadline: float | None = None) -> str:
        """URL of a session's (succinct) receipt; a 404 means there is none."""
        resp = self.request("GET", f"receipts/{session_id}", deadline=deadline)
        return str(self._json(resp, "url")["url"])

    def download(self, url: str, *, deadline: float | None = None) -> bytes:
        return self.request("GET", url, deadline=deadline).content

    # ------------------------------------------------------------ polling

    def _wait(
        self,
        what: str,
        job_id: str,
        status_fn: Callable[..., dict],
        *,
        deadline: float,
        poll_interval: float,
        on_deadline: Callable[[], None] | None,
    ) -> dict:
        while True:
            try:
                st = status_fn(job_id, deadline=deadline)
            except ProofDeadlineExceeded:
                st = None
            if st is not None:
                status = str(st.get("status"))
                if status == TERMINAL_OK:
                    return st
                if status != RUNNING:
                    msg = st.get("error_msg")
                    raise BonsaiSessionFailed(
                        f"Bonsai {what} {job_id} ended {status}: {msg or 'no error message'}",
                        status=status,
                        error_msg=msg,
                        job_id=job_id,
                    )
            remaining = deadline - self._clock()
            if st is None or remaining <= 0:
                self._deadline(what, job_id, on_deadline)
            self._sleep(min(poll_interval, remaining))
            if self._clock() >= deadline:
                self._deadline(what, job_id, on_deadline)

    def _deadline(self, what: str, job_id: str, on_deadline: Callable[[], None] | None) -> None:
        if on_deadline is not None:
            try:
                on_deadline()
            except Exception as exc:  # noqa: BLE001 - stopping is best effort (Bento has no stop route)
                log.warning("could not stop Bonsai %s %s: %s", what, job_id, exc)
        raise ProofDeadlineExceeded(f"proving deadline reached while waiting for Bonsai {what} {job_id}; stopped")

    def wait_session(
        self, session_id: str, *, deadline: float, poll_interval: float, stop_timeout: float = 5.0
    ) -> dict:
        """Poll until SUCCEEDED. On the deadline, or when polling itself fails, the session is stopped."""
        stop = lambda: self.stop_session(session_id, timeout=stop_timeout)  # noqa: E731
        try:
            return self._wait(
                "session",
                session_id,
                self.session_status,
                deadline=deadline,
                poll_interval=poll_interval,
                on_deadline=stop,
            )
        except BonsaiHttpError:
            try:
                stop()
            except Exception as exc:  # noqa: BLE001
                log.warning("could not stop Bonsai session %s: %s", session_id, exc)
            raise

    def wait_snark(self, snark_id: str, *, deadline: float, poll_interval: float) -> dict:
        return self._wait(
            "snark", snark_id, self.snark_status, deadline=deadline, poll_interval=poll_interval, on_deadline=None
        )

    # ------------------------------------------------------------ whole flow

    def prove_groth16(
        self,
        *,
        image_id: bytes,
        input_bytes: bytes,
        deadline: float,
        poll_interval: float,
        elf: bytes | Callable[[], bytes | None] | None = None,
        expected_selector: bytes | None = None,
        stop_margin: float = 5.0,
    ) -> ProveResult:
        """Upload, prove, SNARK, download, parse and check (docs/proofs.md).

        Work stops ``stop_margin`` seconds before ``deadline`` so that stopping the
        session (timeout ``stop_margin``) still finishes before it.
        """
        image_hex = image_id.hex()
        budget = deadline - self._clock()
        stop_margin = max(0.0, min(stop_margin, budget / 10))
        deadline = deadline - stop_margin
        self.upload_image(image_hex, elf, deadline=deadline)
        input_id = self.upload_input(input_bytes, deadline=deadline)
        session_id = self.create_session(image_hex, input_id, deadline=deadline)
        st = self.wait_session(
            session_id, deadline=deadline, poll_interval=poll_interval, stop_timeout=max(stop_margin, 0.05)
        )
        snark_id = self.create_snark(session_id, deadline=deadline)
        sn = self.wait_snark(snark_id, deadline=deadline, poll_interval=poll_interval)
        url = sn.get("output")
        if not url:
            raise BonsaiHttpError(f"Bonsai snark {snark_id} SUCCEEDED without an output URL", status=200)
        raw = self.download(str(url), deadline=deadline)
        receipt = parse_receipt(raw)
        check_groth16_receipt(receipt, expected_image_id=image_id, expected_selector=expected_selector)
        stats = {
            "backend": "bonsai",
            "session_id": session_id,
            "snark_id": snark_id,
            "elapsed_time": st.get("elapsed_time"),
            **(st.get("stats") or {}),
        }
        return ProveResult(receipt, raw, session_id, snark_id, stats)
