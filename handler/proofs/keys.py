"""Ed25519 signing key of the attested provider: load, or generate on first use.

The private key is an unencrypted PKCS#8 PEM file, mode 0600, parent directory
created (0700). Generation is race-safe across worker processes: the key is
written to a temporary file and hard-linked into place, so exactly one key wins
and every process loads that one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import ProofConfigurationError


def _load(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ProofConfigurationError(f"prover key file {path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ProofConfigurationError(f"prover key file {path} does not hold an Ed25519 key")
    return key


def load_or_create_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    p = Path(path)
    if p.exists():
        return _load(p)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, tmp = tempfile.mkstemp(prefix=".prover-key-", dir=p.parent)  # created with mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, p)
        except FileExistsError:
            pass  # another process created it first; use theirs
    finally:
        os.unlink(tmp)
    return _load(p)


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(public_key: bytes) -> str:
    """First 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]
