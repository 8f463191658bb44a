"""The attested provider's Ed25519 signing key: loaded from configuration, never created implicitly.

Where the key comes from (docs/proofs.md, "The signing key"):

* ``PROVER_PRIVATE_KEY``: the key itself (an unencrypted PKCS#8 PEM, or 64 hex digits of the raw
  32-byte private key), typically from a secret store; or
* ``PROVER_KEY_FILE``: a path to the PEM file. The file must not be readable by group or others
  (it is refused otherwise, with the mode named).

``create_private_key_file`` is the only function that makes a key; ``manage.py create_prover_key``
and ``rotate_prover_key --generate`` call it. It writes mode 0600 in a directory created 0700, and
is race-safe across processes (temporary file hard-linked into place: exactly one key wins).

A key is named by its id: the first 16 hex digits of SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import ProofConfigurationError


def _from_pem(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ProofConfigurationError(f"{where} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ProofConfigurationError(f"{where} does not hold an Ed25519 key")
    return key


def private_key_from_text(text: str, where: str = "PROVER_PRIVATE_KEY") -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return _from_pem(text.encode(), where)
    raw = text[2:] if text.lower().startswith("0x") else text
    try:
        seed = bytes.fromhex(raw)
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise ProofConfigurationError(f"{where} must be a PEM private key or 64 hex digits (32 bytes)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_private_key_file(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise ProofConfigurationError(
            f"prover key file {p} does not exist; create it once with `manage.py create_prover_key {p}` "
            "and give every proof machine the same file (or set PROVER_PRIVATE_KEY)"
        ) from None
    except OSError as exc:
        raise ProofConfigurationError(f"prover key file {p} cannot be read: {exc.strerror}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise ProofConfigurationError(
            f"prover key file {p} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); run chmod 600 on it"
        )
    try:
        pem = p.read_bytes()
    except OSError as exc:
        raise ProofConfigurationError(f"prover key file {p} cannot be read: {exc.strerror}") from None
    return _from_pem(pem, f"prover key file {p}")


def load_configured_private_key(*, private_key: str = "", key_file: str = "") -> Ed25519PrivateKey:
    """The configured key: ``PROVER_PRIVATE_KEY`` wins over ``PROVER_KEY_FILE``; neither → error."""
    if private_key:
        return private_key_from_text(private_key)
    if key_file:
        return load_private_key_file(key_file)
    raise ProofConfigurationError("no prover key configured: set PROVER_PRIVATE_KEY or PROVER_KEY_FILE")


def pem_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def create_private_key_file(
    path: str | os.PathLike[str], key: Ed25519PrivateKey | None = None
) -> tuple[Ed25519PrivateKey, bool]:
    """Write a new key to ``path`` unless a key is already there; returns (the key at path, created)."""
    p = Path(path)
    if p.exists():
        return load_private_key_file(p), False
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".prover-key-", dir=p.parent)  # created with mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem_bytes(key or Ed25519PrivateKey.generate()))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, p)
            created = True
        except FileExistsError:
            created = False  # another process created it first; use theirs
    finally:
        os.unlink(tmp)
    return load_private_key_file(p), created


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(raw: bytes) -> str:
    return (
        load_public_key(raw)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(public_key: bytes) -> str:
    """First 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]
