"""HMAC-SHA256 signatures on the calls between the offchain processor and the proving service.

Header `X-Fossil-Signature: t=<unix seconds>,n=<nonce>,v2=<hex hmac>`. The MAC covers the
method, the path with its query, the timestamp, the nonce and the SHA-256 of the body, so
a signature opens exactly one call: not another path, not another method, not another
body. A signature older (or newer) than the tolerance is refused; within the tolerance the
receiver remembers each nonce (offchain.nonces), so the same signature works only once.

Rotation: calls are signed with SERVICE_SHARED_SECRET; the receiver also accepts
SERVICE_SHARED_SECRET_PREVIOUS while it is set (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

HEADER = "X-Fossil-Signature"
META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
TOLERANCE_SECONDS = 300
SCHEME = "v2"
_NONCE = re.compile(r"[0-9a-f]{32}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_MAC = re.compile(r"[0-9a-f]{64}")


def path_of(url: str) -> str:
    """What a signature binds of a URL: the path and the query, as the server sees them."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _mac(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = "\n".join(
        ["fossil-" + SCHEME, method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(method: str, path: str, body: bytes, *, now: float | None = None, nonce: str | None = None) -> str:
    """The header value for one call; always with the current secret and a fresh nonce."""
    timestamp = str(int(now if now is not None else time.time()))
    nonce = nonce or secrets.token_hex(16)
    mac = _mac(settings.SERVICE_SHARED_SECRET, method, path, timestamp, nonce, body)
    return f"t={timestamp},n={nonce},{SCHEME}={mac}"


def signed_headers(method: str, url: str, body: bytes = b"") -> dict[str, str]:
    return {HEADER: sign(method, path_of(url), body)}


@dataclass(frozen=True)
class VerifiedSignature:
    timestamp: int
    nonce: str


def accepted_secrets() -> list[str]:
    previous = getattr(settings, "SERVICE_SHARED_SECRET_PREVIOUS", "")
    return [settings.SERVICE_SHARED_SECRET] + ([previous] if previous else [])


def verify(
    header: str | None, *, method: str, path: str, body: bytes, now: float | None = None
) -> VerifiedSignature | None:
    """The signature's timestamp and nonce if it is well formed, fresh and made for exactly
    this call with an accepted secret; None otherwise. Replays are the caller's to refuse."""
    if not header or len(header) > 256:
        return None
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, nonce, received = parts.get("t", ""), parts.get("n", ""), parts.get(SCHEME, "")
    if not (_TIMESTAMP.fullmatch(timestamp) and _NONCE.fullmatch(nonce) and _MAC.fullmatch(received)):
        return None
    current = now if now is not None else time.time()
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        return None
    for secret in accepted_secrets():
        if hmac.compare_digest(_mac(secret, method, path, timestamp, nonce, body), received):
            return VerifiedSignature(int(timestamp), nonce)
    return None
