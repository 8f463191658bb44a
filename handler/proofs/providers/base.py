from __future__ import annotations

from typing import Protocol, runtime_checkable

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
