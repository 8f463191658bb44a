"""The only Django-aware module of ``handler.proofs``: settings → provider, cached per process.

Settings read: ``PROVER_BACKEND``, ``PROVER_KEY_FILE``, ``BONSAI_API_URL``, ``BONSAI_API_KEY``,
``BONSAI_IMAGE_ID``, ``BONSAI_RISC0_VERSION``, ``BONSAI_POLL_INTERVAL_SECONDS``,
``BONSAI_REQUEST_TIMEOUT_SECONDS``, ``BONSAI_SELECTOR``, ``BONSAI_ELF_PATH``.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from typing import Any

from django.conf import settings

from .journal import CompositionJournal, MetricJournal
from .keys import key_id, load_or_create_private_key, public_key_bytes
from .providers import ProofProvider, build_provider
from .providers.factory import _hex_bytes
from .records import ProofRecord
from .verify import verify_record


def provider_options(backend: str) -> dict[str, Any]:
    if backend == "attested":
        return {"key_file": settings.PROVER_KEY_FILE}
    if backend == "dev":
        return {"latency_seconds": settings.DEV_PROVER_LATENCY_SECONDS}
    if backend == "bonsai":
        return {
            "api_url": getattr(settings, "BONSAI_API_URL", ""),
            "api_key": getattr(settings, "BONSAI_API_KEY", ""),
            "image_id": getattr(settings, "BONSAI_IMAGE_ID", ""),
            "risc0_version": getattr(settings, "BONSAI_RISC0_VERSION", ""),
            "poll_interval": getattr(settings, "BONSAI_POLL_INTERVAL_SECONDS", 5.0),
            "request_timeout": getattr(settings, "BONSAI_REQUEST_TIMEOUT_SECONDS", 30.0),
            "selector": getattr(settings, "BONSAI_SELECTOR", "") or None,
            "elf_path": getattr(settings, "BONSAI_ELF_PATH", "") or None,
        }
    return {}


# Fault-injection hook (tests only): PROVER_FACTORY="package.module:callable" (or a dotted
# path) names a zero-argument callable returning a provider, which replaces the configured
# backend. The chaos tests use it to run workers whose prover fails, crashes or hangs on cue.
# It is read from the process environment, not from settings, and is never set in production.
PROVER_FACTORY_ENV = "PROVER_FACTORY"


def _provider_from_factory(path: str) -> ProofProvider:
    module_name, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory()


@lru_cache(maxsize=1)
def get_provider() -> ProofProvider:
    factory = os.environ.get(PROVER_FACTORY_ENV)
    if factory:
        return _provider_from_factory(factory)
    backend = getattr(settings, "PROVER_BACKEND", "attested")
    return build_provider(backend, **provider_options(backend))


@lru_cache(maxsize=1)
def get_public_key() -> bytes:
    """The published attestation key (created on first use, like the attested provider's)."""
    return public_key_bytes(load_or_create_private_key(settings.PROVER_KEY_FILE))


def prover_key_json() -> dict:
    pub = get_public_key()
    return {"algorithm": "ed25519", "public_key": "0x" + pub.hex(), "key_id": key_id(pub)}


def verify_before_store(record: ProofRecord | dict) -> MetricJournal | CompositionJournal:
    """The ``verify_receipt`` checks, against this deployment's key, image id and selector."""
    d = record.to_json() if isinstance(record, ProofRecord) else record
    kind = d.get("kind")
    return verify_record(
        d,
        get_public_key() if kind == "attested" else None,
        expected_image_id=_hex_bytes(getattr(settings, "BONSAI_IMAGE_ID", ""), "BONSAI_IMAGE_ID", 32)
        if kind == "groth16"
        else None,
        expected_selector=_hex_bytes(getattr(settings, "BONSAI_SELECTOR", ""), "BONSAI_SELECTOR", 4)
        if kind == "groth16"
        else None,
    )


def reset_caches() -> None:
    """For tests that change settings."""
    get_provider.cache_clear()
    get_public_key.cache_clear()
