"""A small Ethereum JSON-RPC batch client over `requests`.

Transport failures, timeouts, HTTP 429/5xx and JSON-RPC errors that nodes use for
overload are retried a bounded number of times with exponential backoff and jitter;
everything else fails at once with RpcError.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import requests

log = logging.getLogger(__name__)

__all__ = ["RpcClient", "RpcError"]

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
# -32005 limit exceeded (Infura & co), -32603 internal error (often transient)
RETRY_RPC_CODES = frozenset({-32005, -32603})


class RpcError(RuntimeError):
    pass


class _Retryable(Exception):
    pass


class RpcClient:
    def __init__(
        self,
        url: str,
        *,
        timeout: tuple[float, float] = (3.05, 30.0),
        max_retries: int = 5,
        backoff: float = 0.5,
        backoff_max: float = 10.0,
        max_batch: int = 100,
        session: requests.Session | None = None,
    ):
        self.url = url
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.max_batch = max(1, max_batch)
        self.session = session or requests.Session()
        self.session.headers.update({"Content-Type": "application/json"})
        self._next_id = 1

    def close(self) -> None:
        self.session.close()

    # --- calls ------------------------------------------------------------------------
    def call(self, method: str, params: list) -> Any:
        return self.batch([(method, params)])[0]

    def batch(self, calls: Sequence[tuple[str, list]]) -> list[Any]:
        """Results of `calls` in order, sent as JSON-RPC batches of at most max_batch."""
        results: list[Any] = []
        for i in range(0, len(calls), self.max_batch):
            results.extend(self._batch_once(calls[i : i + self.max_batch]))
        return results

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def get_blocks(self, numbers: Sequence[int]) -> list[dict]:
        """Block objects (no transactions) for `numbers`, in order. A missing block is an error."""
        results = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        for number, block in zip(numbers, results):
            if block is None:
                raise RpcError(f"the node has no block {number}")
        return results

    # --- transport --------------------------------------------------------------------
    def _batch_once(self, calls: Sequence[tuple[str, list]]) -> list[Any]:
        first_id = self._next_id
        self._next_id += len(calls)
        payload = [
            {"jsonrpc": "2.0", "id": first_id + i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        attempt = 0
        while True:
            try:
                return self._post(payload, first_id, len(calls))
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    raise RpcError(f"{self.url}: giving up after {attempt + 1} attempts: {exc}") from None
                delay = min(self.backoff_max, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
                log.warning(
                    "JSON-RPC %s (attempt %d/%d); retrying in %.2fs", exc, attempt + 1, self.max_retries + 1, delay
                )
                time.sleep(delay)
                attempt += 1

    def _post(self, payload: list[dict], first_id: int, count: int) -> list[Any]:
        try:
            response = self.session.post(self.url, json=payload, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        except requests.RequestException as exc:
            raise RpcError(f"{self.url}: {exc}") from None
        if response.status_code in RETRY_STATUS:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise RpcError(f"{self.url}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError:
            raise _Retryable("response is not JSON") from None
        if isinstance(body, dict):  # some nodes answer a whole batch with one error
            error = body.get("error") or {}
            if error.get("code") in RETRY_RPC_CODES:
                raise _Retryable(f"JSON-RPC error {error.get('code')}: {error.get('message')}")
            raise RpcError(f"{self.url}: JSON-RPC error {error or body!r}"[:300])
        if not isinstance(body, list):
            raise RpcError(f"{self.url}: unexpected response {type(body).__name__}")
        by_id: dict[int, Any] = {}
        for item in body:
            if not isinstance(item, dict) or "id" not in item:
                raise RpcError(f"{self.url}: malformed batch item {item!r}"[:300])
            if item.get("error"):
                error = item["error"]
                if isinstance(error, dict) and error.get("code") in RETRY_RPC_CODES:
                    raise _Retryable(f"JSON-RPC error {error.get('code')}: {error.get('message')}")
                raise RpcError(f"{self.url}: JSON-RPC error for request {item['id']}: {error}"[:300])
            by_id[item["id"]] = item.get("result")
        try:
            return [by_id[first_id + i] for i in range(count)]
        except KeyError as exc:
            raise _Retryable(f"batch response is missing id {exc.args[0]}") from None
