"""Proof providers: one interface, three backends chosen by ``PROVER_BACKEND``.

* ``dev``      fake receipt (risc0 dev-mode convention), for tests only;
* ``attested`` Ed25519 attestation by this service (default for ``make run``);
* ``bonsai``   real Groth16 receipts of the Pitch Lake coprocessor's programs from Bonsai / Bento.
"""

from __future__ import annotations

from .attested import AttestedProofProvider
from .base import JOURNAL_FORMATS, ProofProvider, job_journal, metric_journal_bytes
from .bonsai import BonsaiProofProvider
from .dev import DevProofProvider
from .factory import BACKENDS, build_provider

__all__ = [
    "BACKENDS",
    "AttestedProofProvider",
    "BonsaiProofProvider",
    "DevProofProvider",
    "ProofProvider",
    "build_provider",
    "metric_journal_bytes",
    "job_journal",
    "JOURNAL_FORMATS",
]
