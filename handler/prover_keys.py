"""The prover key ring (``handler.models.ProverKey``): writes (register, rotate) and reads.

Every proof machine signs with the one configured key; the ring keeps its public key as the
current one and every earlier key as retired, so records signed before a rotation still verify
(docs/proofs.md, "The signing key").
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from handler.models import ProverKey
from handler.proofs.errors import ProofConfigurationError
from handler.proofs.keys import key_id, public_key_pem


def prover_key_register(public_key: bytes) -> ProverKey:
    """Record the configured key. The first key becomes current; a retired key is refused."""
    kid = key_id(public_key)
    existing = ProverKey.objects.filter(key_id=kid).first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = ProverKey.objects.create(key_id=kid, public_key="0x" + public_key.hex(), is_current=True)
        except IntegrityError:  # a key is current already (or this one was registered a moment ago)
            existing = ProverKey.objects.filter(key_id=kid).first()
            if existing is None:
                current = ProverKey.objects.filter(is_current=True).values_list("key_id", flat=True).first()
                raise ProofConfigurationError(
                    f"the configured prover key {kid} is not the current key ({current}); every proof machine "
                    "must use the same key (make it current with manage.py rotate_prover_key)",
                    retryable=True,  # another machine, configured right, can take the job
                ) from None
    if not existing.is_current:
        current = ProverKey.objects.filter(is_current=True).values_list("key_id", flat=True).first()
        raise ProofConfigurationError(
            f"the configured prover key {kid} is not the current key ({current}); "
            "give this machine the current key (see manage.py rotate_prover_key)",
            retryable=True,
        )
    return existing


def prover_key_rotate(new_public_key: bytes) -> tuple[list[str], ProverKey]:
    """Make ``new_public_key`` current and retire every other key; returns (retired ids, current)."""
    kid = key_id(new_public_key)
    with transaction.atomic():
        keys = list(ProverKey.objects.select_for_update().order_by("created_at"))
        same = next((k for k in keys if k.key_id == kid), None)
        if same is not None and not same.is_current:
            raise ProofConfigurationError(f"key {kid} was retired before; rotate to a new key")
        retired = [k.key_id for k in keys if k.is_current and k.key_id != kid]
        ProverKey.objects.filter(key_id__in=retired).update(is_current=False, retired_at=timezone.now())
        if same is None:
            same = ProverKey.objects.create(key_id=kid, public_key="0x" + new_public_key.hex(), is_current=True)
    return retired, same


def prover_keys_published() -> dict[str, bytes]:
    """key id → raw public key, current and retired."""
    return {k: bytes.fromhex(pub[2:]) for k, pub in ProverKey.objects.values_list("key_id", "public_key")}


def _key_json(k: ProverKey) -> dict:
    raw = bytes.fromhex(k.public_key[2:])
    return {
        "key_id": k.key_id,
        "public_key": k.public_key,
        "public_key_pem": public_key_pem(raw),
        "status": "current" if k.is_current else "retired",
        "created_at": k.created_at.isoformat(),
        "retired_at": k.retired_at.isoformat() if k.retired_at else None,
    }


def prover_keys_json() -> dict:
    keys = list(ProverKey.objects.order_by("-is_current", "-created_at"))
    current = next((k for k in keys if k.is_current), None)
    return {
        "algorithm": "ed25519",
        "key_id": current.key_id if current else None,
        "public_key": current.public_key if current else None,
        "keys": [_key_json(k) for k in keys],
    }
