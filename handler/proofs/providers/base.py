from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..coprocessor.guests import TWAP_TOLERANCE_PERCENT, MaxReturnJournal, TwapErrorBoundInput
from ..journal import MetricJournal
from ..records import ProofInputs, ProofRecord


@runtime_checkable
class ProofProvider(Protocol):
    kind: str

    def prove(self, inputs: ProofInputs, *, deadline: float) -> ProofRecord:
        """Prove one job. ``deadline`` is a ``time.monotonic()`` value the call must not outlive."""
        ...


def metric_journal(inputs: ProofInputs) -> MetricJournal:
    return MetricJournal.build(
        data_commitment=inputs.data_commitment,
        metric=inputs.metric,
        window_start=inputs.window_start,
        window_end=inputs.window_end,
        value=inputs.value,
    )


def metric_journal_bytes(inputs: ProofInputs) -> bytes:
    """The journal every backend must produce for ``inputs`` (see ``journal.MetricJournal``)."""
    return metric_journal(inputs).encode()


JOURNAL_FORMATS = ("fossil", "pitchlake")


def job_journal(inputs: ProofInputs, journal_format: str = "fossil") -> tuple[str, bytes]:
    """(program, journal) of a job under ``PROOF_JOURNAL_FORMAT`` (docs/proofs.md §6).

    ``fossil``: every metric is its ``MetricJournal``. ``pitchlake``: TWAP and max return are what
    the coprocessor's guests commit for the input its host builds; the reserve price stays a
    ``MetricJournal``.
    """
    if journal_format not in JOURNAL_FORMATS:
        raise ValueError(f"unknown journal format {journal_format!r}")
    if journal_format == "pitchlake" and inputs.metric == "twap":
        return "twap-error-bound-floating", TwapErrorBoundInput(
            tuple(inputs.series_values), TWAP_TOLERANCE_PERCENT, inputs.value
        ).encode()
    if journal_format == "pitchlake" and inputs.metric == "max_return":
        return "max-return-floating", MaxReturnJournal(tuple(inputs.series_values), inputs.value).encode()
    return inputs.metric, metric_journal_bytes(inputs)
