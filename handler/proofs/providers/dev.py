from __future__ import annotations

import time

from ..coprocessor.journals import CompositionJournal
from ..errors import ProofDeadlineExceeded
from ..programs import program_image_id
from ..records import DEV_SELECTOR, ProofInputs, ProofRecord
from ..risc0.claim import claim_digest
from .base import job_journal

DEV_WARNING = (
    "dev-mode receipt (risc0 fake-receipt convention: seal = 0xFFFFFFFF || claim digest): "
    "NOT a proof, checks nothing, and can never pass an on-chain verifier"
)


class DevProofProvider:
    """Fake receipts for tests and local pipelines. Proves nothing; says so in every record."""

    kind = "dev"

    def __init__(self, latency_seconds: float = 0.0, journal_format: str = "fossil"):
        # Simulated proving time, so local runs and fault-injection tests see jobs that
        # take a while (a worker can be killed mid-proof, a deadline can pass).
        self.latency_seconds = latency_seconds
        self.journal_format = journal_format

    def _record(self, image_id: bytes, journal: bytes, stats: dict) -> ProofRecord:
        digest = claim_digest(image_id, journal)
        return ProofRecord(
            kind="dev",
            image_id=image_id,
            journal=journal,
            claim_digest=digest,
            seal=DEV_SELECTOR + digest,
            selector=DEV_SELECTOR,
            receipt=None,
            stats={"backend": "dev", "warning": DEV_WARNING, **stats},
        )

    def prove(self, inputs: ProofInputs, *, deadline: float) -> ProofRecord:
        t0 = time.monotonic()
        if self.latency_seconds:
            if t0 + self.latency_seconds > deadline:
                time.sleep(max(0.0, deadline - t0))
                raise ProofDeadlineExceeded(
                    f"dev prover latency {self.latency_seconds}s does not fit the proof deadline"
                )
            time.sleep(self.latency_seconds)
        program, journal = job_journal(inputs, self.journal_format)
        return self._record(
            program_image_id(program), journal, {"job_id": inputs.job_id, "elapsed_time": time.monotonic() - t0}
        )

    def compose(self, journal: CompositionJournal, *, deadline: float) -> ProofRecord:
        return self._record(program_image_id("composition"), journal.encode(), {})
