"""Groth16 receipts from Bonsai / Bento.

Guest contract (there is no Fossil guest in this repo yet; this is what one must implement):

* input (risc0 serde, what the host would ``env.write``)::

      metric: String, window_start: i64, window_end: i64, value: f64,
      data_commitment: [u32; 8], series_timestamps: Vec<i64>, series_values: Vec<f64>

* journal: exactly ``MetricJournal`` for the job (``handler.proofs.journal``).

The provider rejects a receipt whose journal is not the job's expected journal.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..bonsai import BonsaiClient
from ..errors import ProofConfigurationError, ReceiptRejected
from ..journal import SerdeWriter
from ..records import ProofInputs, ProofRecord
from .base import metric_journal_bytes


def guest_input_bytes(inputs: ProofInputs) -> bytes:
    w = SerdeWriter().string(inputs.metric).i64(inputs.window_start).i64(inputs.window_end).f64(inputs.value)
    w.u32_array(inputs.data_commitment)
    w.u32(len(inputs.series_timestamps))
    for t in inputs.series_timestamps:
        w.i64(t)
    w.u32(len(inputs.series_values))
    for v in inputs.series_values:
        w.f64(v)
    return w.bytes()


class BonsaiProofProvider:
    kind = "groth16"

    def __init__(
        self,
        client: BonsaiClient,
        *,
        image_id: bytes,
        poll_interval: float = 5.0,
        elf_path: str | None = None,
        expected_selector: bytes | None = None,
        stop_margin: float = 5.0,
    ) -> None:
        if len(image_id) != 32:
            raise ProofConfigurationError("BONSAI_IMAGE_ID must be 32 bytes (64 hex digits)")
        self.client = client
        self.image_id = image_id
        self.poll_interval = poll_interval
        self.elf_path = elf_path
        self.expected_selector = expected_selector
        self.stop_margin = stop_margin

    def _elf(self) -> bytes | None:
        if not self.elf_path:
            return None
        try:
            return Path(self.elf_path).read_bytes()
        except OSError as exc:
            raise ProofConfigurationError(f"cannot read BONSAI_ELF_PATH {self.elf_path}: {exc}") from exc

    def prove(self, inputs: ProofInputs, *, deadline: float) -> ProofRecord:
        t0 = time.monotonic()
        expected_journal = metric_journal_bytes(inputs)
        result = self.client.prove_groth16(
            image_id=self.image_id,
            input_bytes=guest_input_bytes(inputs),
            deadline=deadline,
            poll_interval=self.poll_interval,
            elf=self._elf,
            expected_selector=self.expected_selector,
            stop_margin=self.stop_margin,
        )
        rc = result.receipt
        if rc.journal != expected_journal:
            raise ReceiptRejected(
                "journal: the receipt's journal is not this job's (metric, window, value, data commitment)"
            )
        return ProofRecord(
            kind="groth16",
            image_id=self.image_id,
            journal=rc.journal,
            claim_digest=rc.claim_digest(),
            seal=rc.encoded_seal,
            selector=rc.selector,
            receipt=result.receipt_bytes,
            stats={**result.stats, "job_id": inputs.job_id, "wall_time": time.monotonic() - t0},
        )
