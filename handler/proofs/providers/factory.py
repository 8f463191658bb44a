from __future__ import annotations

from typing import Any

from ..errors import ProofConfigurationError
from .base import ProofProvider

BACKENDS = ("dev", "attested", "bonsai")


def _hex_bytes(value: str | None, name: str, length: int) -> bytes | None:
    if not value:
        return None
    s = value[2:] if value.lower().startswith("0x") else value
    try:
        b = bytes.fromhex(s)
    except ValueError as exc:
        raise ProofConfigurationError(f"{name} is not hex") from exc
    if len(b) != length:
        raise ProofConfigurationError(f"{name} must be {length} bytes, got {len(b)}")
    return b


def build_provider(backend: str, **options: Any) -> ProofProvider:
    """Build a provider from settings-like options.

    * ``dev``: optional ``latency_seconds`` (simulated proving time).
    * ``attested``: ``private_key`` (an Ed25519 key) or ``key_file`` (an existing PEM, never created
      here); optional ``run_checks``, ``num_paths``.
    * ``bonsai``: ``api_url``, ``api_key``, ``risc0_version``, ``profile`` (``coprocessor.profile.Profile``
      with all eight image ids), ``poll_interval``, ``request_timeout``, ``selector`` (hex); optional
      ``private_key`` (attested records for requests that are not vault rounds), ``max_retries``,
      ``backoff_base``, ``stop_margin``, and the coprocessor's guests for any shape
      ``twap_image_id``/``twap_elf_path``, ``max_return_image_id``/``max_return_elf_path``.
    """
    if backend == "dev":
        from .dev import DevProofProvider

        return DevProofProvider(
            latency_seconds=float(options.get("latency_seconds", 0.0)),
            journal_format=options.get("journal_format", "fossil"),
        )
    if backend == "attested":
        from ..keys import load_private_key_file
        from .attested import AttestedProofProvider

        key = options.get("private_key")
        if key is None:
            key_file = options.get("key_file")
            if not key_file:
                raise ProofConfigurationError("no prover key configured: set PROVER_PRIVATE_KEY or PROVER_KEY_FILE")
            key = load_private_key_file(key_file)
        return AttestedProofProvider(
            key,
            run_checks=options.get("run_checks", True),
            num_paths=options.get("num_paths"),
            journal_format=options.get("journal_format", "fossil"),
        )
    if backend == "bonsai":
        from .attested import AttestedProofProvider
        from .bonsai import BonsaiProofProvider, pitchlake_max_return_guest, pitchlake_twap_guest
        from .bonsai_client import BonsaiClient
        from .round_prover import ProgramSet, RoundProver

        if options.get("image_id"):
            raise ProofConfigurationError(
                "BONSAI_IMAGE_ID named the 'fossil' guest contract, which has no program: "
                "Bonsai mode proves with the coprocessor's programs (COPROCESSOR_PROFILE)"
            )
        profile = options.get("profile")
        if profile is None:
            raise ProofConfigurationError("Bonsai mode needs COPROCESSOR_PROFILE (the eight programs' image ids)")
        client_opts = {
            k: options[k] for k in ("max_retries", "backoff_base", "backoff_max", "release_channel") if k in options
        }
        client = BonsaiClient(
            options.get("api_url") or "",
            options.get("api_key") or "",
            options.get("risc0_version") or "",
            request_timeout=float(options.get("request_timeout") or 30.0),
            **client_opts,
        )
        selector = _hex_bytes(options.get("selector"), "BONSAI_SELECTOR", 4)
        poll_interval = float(options.get("poll_interval") or 5.0)
        round_prover = RoundProver(
            client,
            ProgramSet(profile.shape, profile.image_ids, profile.elf_paths),
            poll_interval=poll_interval,
            expected_selector=selector,
        )
        metric_guests = {}
        twap_id = _hex_bytes(options.get("twap_image_id"), "BONSAI_TWAP_IMAGE_ID", 32)
        if twap_id is not None:
            metric_guests["twap"] = pitchlake_twap_guest(twap_id, options.get("twap_elf_path") or None)
        max_return_id = _hex_bytes(options.get("max_return_image_id"), "BONSAI_MAX_RETURN_IMAGE_ID", 32)
        if max_return_id is not None:
            metric_guests["max_return"] = pitchlake_max_return_guest(
                max_return_id, options.get("max_return_elf_path") or None
            )
        key = options.get("private_key")
        fallback = AttestedProofProvider(key, num_paths=options.get("num_paths")) if key is not None else None
        return BonsaiProofProvider(
            client,
            round_prover=round_prover,
            fallback=fallback,
            metric_guests=metric_guests,
            poll_interval=poll_interval,
            expected_selector=selector,
            stop_margin=float(options.get("stop_margin", 5.0)),
        )
    raise ProofConfigurationError(f"unknown PROVER_BACKEND {backend!r}; expected one of {', '.join(BACKENDS)}")
