"""Groth16 receipts from Bonsai / Bento, one guest program per metric.

Two guest contracts (docs/proofs.md, "Pitch Lake guest formats"):

* ``fossil`` (default, ``BONSAI_IMAGE_ID``): input, in RISC Zero serde, what the host would
  ``env.write``::

      metric: String, window_start: i64, window_end: i64, value: f64,
      data_commitment: [u32; 8], series_timestamps: Vec<i64>, series_values: Vec<f64>

  journal: exactly the job's ``MetricJournal`` (the one the attested and dev providers write).
* the Pitch Lake coprocessor's own guests, when their image ids are configured:
  ``twap`` → twap-error-bound-floating (``BONSAI_TWAP_IMAGE_ID``), input
  ``TwapErrorBoundInput{avg_hourly_gas_fee, twap_tolerance: 1.0, twap_result}`` as the coprocessor's
  host builds it, journal the same struct; ``max_return`` → max-return-floating
  (``BONSAI_MAX_RETURN_IMAGE_ID``), input ``MaxReturnInput{data}``, journal ``(MaxReturnInput, f64)``.

The provider rejects a receipt whose journal is not what the job's guest must commit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..coprocessor.guests import TWAP_TOLERANCE_PERCENT, MaxReturnInput, MaxReturnJournal, TwapErrorBoundInput
from ..errors import JournalDecodeError, ProofConfigurationError, ReceiptRejected
from ..records import ProofInputs, ProofRecord
from ..risc0.serde import SerdeWriter
from .base import metric_journal_bytes
from .bonsai_client import BonsaiClient
from .round_prover import RoundProver

#: the max-return guest recomputes the value in the zkVM; ours must agree this closely
MAX_RETURN_RELATIVE_TOLERANCE = 1e-9


def guest_input_bytes(inputs: ProofInputs) -> bytes:
    """Input of the ``fossil`` guest contract."""
    w = SerdeWriter().string(inputs.metric).i64(inputs.window_start).i64(inputs.window_end).f64(inputs.value)
    w.u32_array(inputs.data_commitment)
    w.u32(len(inputs.series_timestamps))
    for t in inputs.series_timestamps:
        w.i64(t)
    w.u32(len(inputs.series_values))
    for v in inputs.series_values:
        w.f64(v)
    return w.bytes()


def _check_fossil(inputs: ProofInputs, journal: bytes) -> None:
    if journal != metric_journal_bytes(inputs):
        raise ReceiptRejected(
            "journal: the receipt's journal is not this job's (metric, window, value, data commitment)"
        )


def _twap_input(inputs: ProofInputs) -> bytes:
    return TwapErrorBoundInput(tuple(inputs.series_values), TWAP_TOLERANCE_PERCENT, inputs.value).encode()


def _check_twap(inputs: ProofInputs, journal: bytes) -> None:
    if journal != _twap_input(inputs):  # the guest commits its input after checking it
        raise ReceiptRejected("journal: the TWAP guest's journal is not this job's TwapErrorBoundInput")


def _max_return_input(inputs: ProofInputs) -> bytes:
    return MaxReturnInput(tuple(inputs.series_values)).encode()


def _check_max_return(inputs: ProofInputs, journal: bytes) -> None:
    try:
        committed = MaxReturnJournal.decode(journal)
    except JournalDecodeError as exc:
        raise ReceiptRejected(f"journal: not a max-return guest journal: {exc}") from exc
    if committed.data != tuple(inputs.series_values):
        raise ReceiptRejected("journal: the max-return guest ran on other data than this job's series")
    if not math.isclose(committed.max_return, inputs.value, rel_tol=MAX_RETURN_RELATIVE_TOLERANCE, abs_tol=1e-15):
        raise ReceiptRejected(
            f"journal: the max-return guest computed {committed.max_return!r}, this job's value is {inputs.value!r}"
        )


@dataclass(frozen=True)
class Guest:
    """One guest program: its image id, how the job's input is written, what its journal must be."""

    name: str
    image_id: bytes
    elf_path: str | None
    input_bytes: Callable[[ProofInputs], bytes]
    check_journal: Callable[[ProofInputs, bytes], None]

    def elf(self) -> bytes | None:
        if not self.elf_path:
            return None
        try:
            return Path(self.elf_path).read_bytes()
        except OSError as exc:
            raise ProofConfigurationError(f"cannot read the ELF of guest {self.name} ({self.elf_path}): {exc}") from exc


def fossil_guest(image_id: bytes, elf_path: str | None = None) -> Guest:
    return Guest("fossil", image_id, elf_path, guest_input_bytes, _check_fossil)


def pitchlake_twap_guest(image_id: bytes, elf_path: str | None = None) -> Guest:
    return Guest("twap-error-bound-floating", image_id, elf_path, _twap_input, _check_twap)


def pitchlake_max_return_guest(image_id: bytes, elf_path: str | None = None) -> Guest:
    return Guest("max-return-floating", image_id, elf_path, _max_return_input, _check_max_return)


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
        metric_guests: dict[str, Guest] | None = None,
        round_prover: RoundProver | None = None,
    ) -> None:
        if len(image_id) != 32:
            raise ProofConfigurationError("BONSAI_IMAGE_ID must be 32 bytes (64 hex digits)")
        self.client = client
        self.image_id = image_id
        self.poll_interval = poll_interval
        self.elf_path = elf_path
        self.expected_selector = expected_selector
        self.stop_margin = stop_margin
        self.default_guest = fossil_guest(image_id, elf_path)
        self.metric_guests = dict(metric_guests or {})
        self.round_prover = round_prover

    def guest_for(self, metric: str) -> Guest:
        return self.metric_guests.get(metric, self.default_guest)

    @property
    def image_ids(self) -> frozenset[bytes]:
        """Every image id this provider's records may carry (what ``verify_before_store`` pins)."""
        rounds = set(self.round_prover.programs.image_ids.values()) if self.round_prover else set()
        return frozenset({self.image_id, *(g.image_id for g in self.metric_guests.values()), *rounds})

    def prove(self, inputs: ProofInputs, *, deadline: float) -> ProofRecord:
        if inputs.rules != "engine" and self.round_prover is not None:
            # a vault round: the reserve-price job carries the composition of all eight programs,
            # the TWAP and max-return jobs a proof of their own program on the same inputs
            if inputs.round_inputs is not None:
                return self.round_prover.prove(inputs.round_inputs, deadline=deadline, job_id=inputs.job_id).record
            return self.round_prover.prove_job(inputs, deadline=deadline)
        t0 = time.monotonic()
        guest = self.guest_for(inputs.metric)
        result = self.client.prove_groth16(
            image_id=guest.image_id,
            input_bytes=guest.input_bytes(inputs),
            deadline=deadline,
            poll_interval=self.poll_interval,
            elf=guest.elf,
            expected_selector=self.expected_selector,
            stop_margin=self.stop_margin,
        )
        guest.check_journal(inputs, result.receipt.journal)
        return ProofRecord.from_groth16_receipt(
            result.receipt,
            result.receipt_bytes,
            image_id=guest.image_id,
            stats={**result.stats, "job_id": inputs.job_id, "guest": guest.name, "wall_time": time.monotonic() - t0},
        )
