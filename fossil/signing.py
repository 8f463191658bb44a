"""HMAC-SHA256 signatures on the calls between the offchain processor and the proving service.

Header `X-Fossil-Signature: t=<unix seconds>,v1=<hex hmac of "<t>.<body>">`. A signature
older than the tolerance is refused, so a captured call cannot be replayed later.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings

HEADER = "X-Fossil-Signature"
TOLERANCE_SECONDS = 300


def sign(body: bytes, *, now: float | None = None) -> str:
    timestamp = str(int(now if now is not None else time.time()))
    mac = hmac.new(settings.SERVICE_SHARED_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_is_valid(header: str | None, body: bytes, *, now: float | None = None) -> bool:
    if not header:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, received = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit():
        return False
    current = now if now is not None else time.time()
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(settings.SERVICE_SHARED_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), received)
