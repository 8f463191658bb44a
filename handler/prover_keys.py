"""The prover key ring (``handler.models.ProverKey``): writes (register, rotate, revoke) and reads.

Every proof machine signs with the one configured key; the ring keeps its public key as the
current one and every earlier key as retired (docs/proofs.md, "The signing key"). A key's life:

    current   signs; its records verify
    retired   signs no more; verifies only records signed before its retired_at
    revoked   (compromised) verifies no record at all, whenever it was signed

A machine whose configured key is not the current one takes no jobs: its workers refuse to
start and stop within KEY_CHECK_SECONDS of a rotation (handler/signing_key_guard.py), its
readiness answers 503 naming both key ids, and a record it signed after the rotation is not
stored (``lock_signing_key_for_store``); its job goes back to the queue for a machine that can
run it, without spending an attempt.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from handler.models import ProverKey
from handler.proofs.errors import ProofConfigurationError
from handler.proofs.keys import key_id, load_configured_private_key, public_key_bytes, public_key_pem


class SigningKeyNotCurrent(ProofConfigurationError):
    """This machine's configured key is not the ring's current key: it must not sign."""

    code = "prover_key_not_current"
    retryable = True  # another machine, configured right, can take the job

    def __init__(self, configured: str, current: str | None):
        self.configured, self.current = configured, current
        super().__init__(
            f"the configured prover key {configured} is not the current key ({current or 'none'}); give this "
            'machine the current key (docs/operations.md, "Rotating the prover key")'
        )


def _current_key_id() -> str | None:
    return ProverKey.objects.filter(is_current=True).values_list("key_id", flat=True).first()


def prover_key_register(public_key: bytes) -> ProverKey:
    """Record the configured key. The first key becomes current; any other key is refused."""
    kid = key_id(public_key)
    existing = ProverKey.objects.filter(key_id=kid).first()
    if existing is None:
        if ProverKey.objects.exists():  # a ring with no current key (its key revoked) takes no newcomer either
            raise SigningKeyNotCurrent(kid, _current_key_id())
        try:
            with transaction.atomic():
                existing = ProverKey.objects.create(key_id=kid, public_key="0x" + public_key.hex(), is_current=True)
        except IntegrityError:  # another machine registered its key a moment ago
            existing = ProverKey.objects.filter(key_id=kid).first()
            if existing is None:
                raise SigningKeyNotCurrent(kid, _current_key_id()) from None
    if not existing.is_current:
        raise SigningKeyNotCurrent(kid, _current_key_id())
    return existing


def signing_key_check(public_key: bytes, *, register: bool = True) -> None:
    """Raises SigningKeyNotCurrent unless ``public_key`` is the current key (one indexed read).
    An empty ring takes it as its first key (register=False: a read-only caller lets it pass)."""
    kid = key_id(public_key)
    current = _current_key_id()
    if current == kid:
        return
    if current is None and register:
        prover_key_register(public_key)
    elif current is not None or ProverKey.objects.exists():
        raise SigningKeyNotCurrent(kid, current)


def lock_signing_key_for_store(kid: str) -> None:
    """In the transaction that stores a record signed by ``kid``: holds a share lock on the key
    row (a rotation, which locks every row for update, waits for the store to commit, so the
    record is stored before the key's retired_at), and refuses a key that is not current."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT is_current FROM {ProverKey._meta.db_table} WHERE key_id = %s FOR SHARE", [kid])
        row = cursor.fetchone()
    if row is None or not row[0]:
        raise SigningKeyNotCurrent(kid, _current_key_id())


def checked_signer(provider):
    """``provider``, once its signing key (attested) is checked to be the current one: every job
    and composition asks before signing, so a running worker never signs with a key retired earlier."""
    public_key = getattr(provider, "public_key", None)
    if getattr(provider, "kind", "") == "attested" and isinstance(public_key, bytes):
        signing_key_check(public_key)
    return provider


def configured_key_problem(*, private_key: str, key_file: str) -> str | None:
    """For readiness probes: why this machine's configured key cannot sign now, or None.
    Reads the key afresh, so a key file replaced after a rotation counts at once."""
    try:
        public_key = public_key_bytes(load_configured_private_key(private_key=private_key, key_file=key_file))
        signing_key_check(public_key, register=False)
    except (ProofConfigurationError, OSError) as exc:
        return str(exc)
    return None


def readiness_check() -> str:
    """fossil.health's prover_key check: "ok", or "error: ..." naming the configured and current key ids."""
    from django.conf import settings

    if settings.PROVER_BACKEND != "attested":
        return "ok"
    problem = configured_key_problem(private_key=settings.PROVER_PRIVATE_KEY, key_file=settings.PROVER_KEY_FILE)
    return f"error: {problem}" if problem else "ok"


def prover_key_rotate(new_public_key: bytes) -> tuple[list[str], ProverKey]:
    """Make ``new_public_key`` current and retire every other key; returns (retired ids, current)."""
    kid = key_id(new_public_key)
    with transaction.atomic():
        keys = list(ProverKey.objects.select_for_update().order_by("created_at"))
        same = next((k for k in keys if k.key_id == kid), None)
        if same is not None and not same.is_current:
            raise ProofConfigurationError(f"key {kid} was retired or revoked before; rotate to a new key")
        retired = [k.key_id for k in keys if k.is_current and k.key_id != kid]
        # taken after the locks: a record being stored under the old key commits first
        ProverKey.objects.filter(key_id__in=retired).update(is_current=False, retired_at=timezone.now())
        if same is None:
            same = ProverKey.objects.create(key_id=kid, public_key="0x" + new_public_key.hex(), is_current=True)
    return retired, same


def prover_key_revoke(kid: str, *, reason: str) -> ProverKey:
    """Revoke a (compromised) key: every record it signed fails verification from now on. A
    current key is retired with it, which leaves no current key until the next rotation."""
    reason = " ".join(reason.split())
    if not reason:
        raise ProofConfigurationError("a revocation needs a reason")
    with transaction.atomic():
        key = ProverKey.objects.select_for_update().filter(key_id=kid).first()
        if key is None:
            raise ProofConfigurationError(f"no prover key {kid}")
        if key.revoked_at is None:
            now = timezone.now()
            key.revoked_at, key.revoked_reason = now, reason[:200]
            key.retired_at = key.retired_at or now
            key.is_current = False
            key.save(update_fields=["revoked_at", "revoked_reason", "retired_at", "is_current"])
    return key


def key_life_problem(kid: str | None, signed_at: datetime | None) -> str | None:
    """Why a record signed by ``kid`` at ``signed_at`` (None: unknown) must not verify, or None.
    An unknown key is the signature check's to refuse (it is not published)."""
    if kid is None:
        return None
    key = ProverKey.objects.filter(key_id=kid).first()
    if key is None or (key.is_current and key.revoked_at is None):
        return None
    if key.revoked_at is not None:
        return f"key {kid} was revoked at {key.revoked_at.isoformat()}: {key.revoked_reason}"
    assert key.retired_at is not None
    if signed_at is None:
        return f"key {kid} was retired at {key.retired_at.isoformat()} and nothing dates this record before that"
    if signed_at >= key.retired_at:
        return f"key {kid} was retired at {key.retired_at.isoformat()}, before this record ({signed_at.isoformat()})"
    return None


def prover_keys_published() -> dict[str, bytes]:
    """key id → raw public key, current, retired and revoked (key_life_problem tells them apart)."""
    return {k: bytes.fromhex(pub[2:]) for k, pub in ProverKey.objects.values_list("key_id", "public_key")}


def key_status(k: ProverKey) -> str:
    return "revoked" if k.revoked_at else "current" if k.is_current else "retired"


def _key_json(k: ProverKey) -> dict:
    raw = bytes.fromhex(k.public_key[2:])
    return {
        "key_id": k.key_id,
        "public_key": k.public_key,
        "public_key_pem": public_key_pem(raw),
        "status": key_status(k),
        "created_at": k.created_at.isoformat(),
        "retired_at": k.retired_at.isoformat() if k.retired_at else None,
        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        "revoked_reason": k.revoked_reason or None,
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
