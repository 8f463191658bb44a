from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import checks
from ..coprocessor.journals import CompositionJournal
from ..errors import ProofDeadlineExceeded
from ..keys import key_id, public_key_bytes
from ..programs import program_image_id
from ..records import ATTESTED_SELECTOR, ProofInputs, ProofRecord
from ..risc0.claim import claim_digest
from .base import job_journal

STATEMENT = (
    "Attestation, not a zero-knowledge proof: the holder of this Ed25519 key states that this "
    "service computed the journal's values from the data with this commitment and that the "
    "verifier checks passed. Signature over the claim digest (RISC Zero ReceiptClaim::ok(image_id, journal))."
)


class AttestedProofProvider:
    """Runs the pricing checks, then signs the claim digest with the service's Ed25519 key."""

    kind = "attested"

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        run_checks: bool = True,
        num_paths: int | None = None,
        journal_format: str = "fossil",
    ) -> None:
        self._key = private_key
        self.public_key = public_key_bytes(private_key)
        self.key_id = key_id(self.public_key)
        self.run_checks = run_checks
        self.num_paths = num_paths
        self.journal_format = journal_format

    def _record(self, image_id: bytes, journal: bytes, stats: dict) -> ProofRecord:
        digest = claim_digest(image_id, journal)
        signature = self._key.sign(digest)
        return ProofRecord(
            kind="attested",
            image_id=image_id,
            journal=journal,
            claim_digest=digest,
            seal=ATTESTED_SELECTOR + signature,
            selector=ATTESTED_SELECTOR,
            receipt=None,
            stats={"backend": "attested", "statement": STATEMENT, "key_id": self.key_id, **stats},
            public_key=self.public_key,
            signature=signature,
            key_id=self.key_id,
        )

    def prove(self, inputs: ProofInputs, *, deadline: float) -> ProofRecord:
        t0 = time.monotonic()
        checked: list = []
        if self.run_checks and inputs.rules != "engine":
            checked = checks.check_round_job(inputs)
        elif self.run_checks:
            checks.check_commitment(inputs)
            checked = checks.check_metric(inputs, num_paths=self.num_paths)
        if time.monotonic() >= deadline:
            raise ProofDeadlineExceeded(f"proving deadline passed while checking job {inputs.job_id}")
        program, journal = job_journal(inputs, self.journal_format)
        return self._record(
            program_image_id(program),
            journal,
            {"job_id": inputs.job_id, "checks": checked, "elapsed_time": time.monotonic() - t0},
        )

    def compose(self, journal: CompositionJournal, *, deadline: float) -> ProofRecord:
        """Sign a group's 16-field composition journal (call only after its three job records verified)."""
        return self._record(program_image_id("composition"), journal.encode(), {})
