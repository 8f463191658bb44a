"""Groth16 receipts from Bonsai / Bento, of the Pitch Lake coprocessor's programs only.

* A vault round (``inputs.rules`` names the coprocessor profile): the reserve-price job is proved
  by the composition of all eight programs (``round_prover.RoundProver.prove``), the TWAP and
  max-return jobs by their own program on the same inputs (``RoundProver.prove_job``).
* With ``PROOF_JOURNAL_FORMAT=pitchlake`` and their image ids, TWAP and max-return jobs of any
  shape go to twap-error-bound-floating (input ``TwapErrorBoundInput{avg_hourly_gas_fee,
  twap_tolerance: 1.0, twap_result}``, journal the same struct) and max-return-floating (input
  ``MaxReturnInput{data}``, journal ``(MaxReturnInput, f64)``) as the coprocessor's host builds them.
* Any other job has no program that could prove it: it gets an attested record from the
  configured key (``fallback``), or fails with ``ProofConfigurationError`` when there is none.

The provider rejects a receipt whose journal is not what the job's program must commit.
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
from .base import ProofProvider
from .bonsai_client import BonsaiClient
from .round_prover import RoundProver

#: the max-return guest recomputes the value in the zkVM; ours must agree this closely
MAX_RETURN_RELATIVE_TOLERANCE = 1e-9


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
        round_prover: RoundProver,
        fallback: ProofProvider | None = None,
        poll_interval: float = 5.0,
        expected_selector: bytes | None = None,
        stop_margin: float = 5.0,
        metric_guests: dict[str, Guest] | None = None,
    ) -> None:
        self.client = client
        self.round_prover = round_prover
        self.fallback = fallback
        self.poll_interval = poll_interval
        self.expected_selector = expected_selector
        self.stop_margin = stop_margin
        self.metric_guests = dict(metric_guests or {})

    def guest_for(self, metric: str) -> Guest | None:
        return self.metric_guests.get(metric)

    @property
    def image_ids(self) -> frozenset[bytes]:
        """Every image id this provider's Groth16 records may carry (what ``verify_before_store`` pins)."""
        rounds = set(self.round_prover.programs.image_ids.values())
        return frozenset({*(g.image_id for g in self.metric_guests.values()), *rounds})

    def prove(self, inputs: ProofInputs, *, deadline: float) -> ProofRecord:
        if inputs.rules != "engine":
            if inputs.round_inputs is not None:
                return self.round_prover.prove(inputs.round_inputs, deadline=deadline, job_id=inputs.job_id).record
            return self.round_prover.prove_job(inputs, deadline=deadline)
        guest = self.guest_for(inputs.metric)
        if guest is None:
            if self.fallback is None:
                raise ProofConfigurationError(
                    f"job {inputs.job_id} is not a vault round and no program proves it; an attested record "
                    "needs PROVER_PRIVATE_KEY or PROVER_KEY_FILE"
                )
            return self.fallback.prove(inputs, deadline=deadline)
        t0 = time.monotonic()
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
