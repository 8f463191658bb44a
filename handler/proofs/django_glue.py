"""The only Django-aware module of ``handler.proofs``: settings → provider, cached per process.

Settings read: ``PROVER_BACKEND``, ``PROVER_PRIVATE_KEY``, ``PROVER_KEY_FILE``, ``PROOF_JOURNAL_FORMAT``,
``BONSAI_API_URL``, ``BONSAI_API_KEY``, ``BONSAI_RISC0_VERSION``,
``BONSAI_POLL_INTERVAL_SECONDS``, ``BONSAI_REQUEST_TIMEOUT_SECONDS``, ``BONSAI_SELECTOR``,
``BONSAI_TWAP_IMAGE_ID``/``_ELF_PATH``, ``BONSAI_MAX_RETURN_IMAGE_ID``/``_ELF_PATH``,
``COPROCESSOR_PROFILE`` (``coprocessor.profile``).
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from typing import Any

from django.conf import settings

from .coprocessor.guests import MaxReturnJournal, TwapErrorBoundInput
from .coprocessor.inputs import COMPOSITION, MAX_RETURN, TWAP
from .coprocessor.journals import CompositionJournal
from .coprocessor.profile import Profile, load_profile
from .errors import ProofConfigurationError, ProofError
from .keys import key_id, load_configured_private_key, public_key_bytes
from .programs import PROGRAMS, program_image_id
from .providers import AttestedProofProvider, ProofProvider, build_provider
from .providers.factory import _hex_bytes
from .records import ProofRecord
from .verify import verify_record


def provider_options(backend: str) -> dict[str, Any]:
    journal_format = getattr(settings, "PROOF_JOURNAL_FORMAT", "fossil")
    if backend == "attested":
        return {"private_key": get_signing_key(), "journal_format": journal_format}
    if backend == "dev":
        return {"latency_seconds": settings.DEV_PROVER_LATENCY_SECONDS, "journal_format": journal_format}
    if backend == "bonsai":
        try:  # requests that are not vault rounds get attested records when a key is configured
            fallback_key = get_signing_key()
        except ProofConfigurationError:
            fallback_key = None
        return {
            "profile": coprocessor_profile(),
            "private_key": fallback_key,
            "api_url": getattr(settings, "BONSAI_API_URL", ""),
            "api_key": getattr(settings, "BONSAI_API_KEY", ""),
            "risc0_version": getattr(settings, "BONSAI_RISC0_VERSION", ""),
            "poll_interval": getattr(settings, "BONSAI_POLL_INTERVAL_SECONDS", 5.0),
            "request_timeout": getattr(settings, "BONSAI_REQUEST_TIMEOUT_SECONDS", 30.0),
            "selector": getattr(settings, "BONSAI_SELECTOR", "") or None,
            "twap_image_id": getattr(settings, "BONSAI_TWAP_IMAGE_ID", ""),
            "twap_elf_path": getattr(settings, "BONSAI_TWAP_ELF_PATH", "") or None,
            "max_return_image_id": getattr(settings, "BONSAI_MAX_RETURN_IMAGE_ID", ""),
            "max_return_elf_path": getattr(settings, "BONSAI_MAX_RETURN_ELF_PATH", "") or None,
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
    provider = build_provider(backend, **provider_options(backend))
    if isinstance(provider, AttestedProofProvider):
        from handler.prover_keys import prover_key_register

        prover_key_register(provider.public_key)
    return provider


@lru_cache(maxsize=1)
def get_signing_key():
    """The configured Ed25519 key (PROVER_PRIVATE_KEY or PROVER_KEY_FILE); never created here."""
    return load_configured_private_key(
        private_key=getattr(settings, "PROVER_PRIVATE_KEY", ""), key_file=getattr(settings, "PROVER_KEY_FILE", "")
    )


def configured_public_key() -> bytes | None:
    """The configured key's public half, or None when no usable key is configured (read-only callers)."""
    try:
        return public_key_bytes(get_signing_key())
    except ProofConfigurationError:
        return None


def published_keys() -> dict[str, bytes]:
    """key id → public key: the key ring (current and retired) plus the configured key."""
    from handler.prover_keys import prover_keys_published

    keys = prover_keys_published()
    own = configured_public_key()
    if own is not None:
        keys.setdefault(key_id(own), own)
    return keys


def prover_key_json() -> dict:
    from handler.prover_keys import prover_key_register, prover_keys_json

    body = prover_keys_json()
    own = configured_public_key()
    if body["key_id"] is None and own is not None:
        try:
            prover_key_register(own)
        except ProofError:
            return body
        body = prover_keys_json()
    return body


def verify_before_store(record: ProofRecord | dict):
    """The ``verify_receipt`` checks, against this deployment's keys, pinned image id and selector.

    A Groth16 record is checked with the pairing, and only against the pinned guest image ids
    (a Groth16 record with none pinned is refused).
    """
    d = record.to_json() if isinstance(record, ProofRecord) else record
    kind = d.get("kind")
    groth16 = kind == "groth16"
    pinned, decoders = pinned_guests() if groth16 else (None, None)
    return verify_record(
        d,
        public_keys=published_keys() if kind == "attested" else None,
        expected_image_id=pinned,
        expected_selector=_hex_bytes(getattr(settings, "BONSAI_SELECTOR", ""), "BONSAI_SELECTOR", 4)
        if groth16
        else None,
        require_image_id=groth16,
        journal_decoders=decoders,
    )


def pinned_guests() -> tuple[frozenset[bytes] | None, dict]:
    """The configured programs' image ids (the coprocessor profile's and the metric guests') and, for the
    coprocessor's, the journal type each commits."""
    ids: set[bytes] = set()
    decoders: dict = {}
    for name, journal_type in (
        ("BONSAI_TWAP_IMAGE_ID", TwapErrorBoundInput),
        ("BONSAI_MAX_RETURN_IMAGE_ID", MaxReturnJournal),
    ):
        image_id = _hex_bytes(getattr(settings, name, ""), name, 32)
        if image_id is not None:
            ids.add(image_id)
            if journal_type is not None:
                decoders[image_id] = journal_type.decode
    profile_ids = coprocessor_profile().image_ids
    profile_decoders = {
        COMPOSITION: CompositionJournal.decode,
        TWAP: TwapErrorBoundInput.decode,
        MAX_RETURN: MaxReturnJournal.decode,
    }
    for program, decode in profile_decoders.items():
        if program in profile_ids:
            ids.add(profile_ids[program])
            decoders[profile_ids[program]] = decode
    return (frozenset(ids) or None), decoders


def coprocessor_profile() -> Profile:
    return load_profile(getattr(settings, "COPROCESSOR_PROFILE", ""))


def known_image_ids() -> dict[bytes, str]:
    """image id -> program name, for every program this deployment knows: Fossil's own
    (dev/attested), the configured guests, and the coprocessor profile's eight."""
    known = {program_image_id(name): name for name in PROGRAMS}
    for name in ("BONSAI_TWAP_IMAGE_ID", "BONSAI_MAX_RETURN_IMAGE_ID"):
        image_id = _hex_bytes(getattr(settings, name, ""), name, 32)
        if image_id is not None:
            known.setdefault(image_id, name)
    for program, image_id in coprocessor_profile().image_ids.items():
        known[image_id] = program
    return known


def reset_caches() -> None:
    """For tests that change settings."""
    get_provider.cache_clear()
    get_signing_key.cache_clear()
