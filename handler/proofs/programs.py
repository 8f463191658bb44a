"""Image ids of the dev/attested "programs".

There is no RISC Zero guest behind the dev and attested providers; the program
is this service's Python reference implementation. Each metric (and the group
composition) gets a stable 32-byte image id::

    image_id(name) = SHA-256(b"fossil.program." + name + b".v" + PROGRAM_VERSION)

e.g. ``image_id("twap") = sha256(b"fossil.program.twap.v1")``. Bump
``PROGRAM_VERSION`` when the journal layout or the checks change; ``verify``
rejects dev/attested records whose image id is not the one for their journal.
Groth16 (Bonsai) records use the configured guest image id instead.

With ``PROOF_JOURNAL_FORMAT=pitchlake`` the TWAP and max-return jobs are the programs named after
the coprocessor's guests (``twap-error-bound-floating``, ``max-return-floating``) and their
journals are those guests' (``coprocessor/guests.py``), whichever provider proves them.
Which journal a program commits, and how to decode one of unknown kind, is also here.
"""

from __future__ import annotations

import hashlib

from .coprocessor.guests import MaxReturnJournal, TwapErrorBoundInput
from .coprocessor.journals import CompositionJournal, CompositionJournalV1
from .errors import JournalDecodeError
from .journal import MetricJournal

PROGRAM_VERSION = "1"
PROGRAMS = ("twap", "max_return", "reserve_price", "composition", "twap-error-bound-floating", "max-return-floating")
#: the metric each program proves
PROGRAM_METRIC = {"twap-error-bound-floating": "twap", "max-return-floating": "max_return"}


JOURNAL_TYPES: dict[str, type[MetricJournal] | type[CompositionJournal] | type[CompositionJournalV1]] = {
    "metric": MetricJournal,
    "composition": CompositionJournal,
    "composition_v1": CompositionJournalV1,
}


def program_tag(name: str) -> str:
    if name not in PROGRAMS:
        raise ValueError(f"unknown program {name!r}")
    return f"fossil.program.{name}.v{PROGRAM_VERSION}"


def program_image_id(name: str) -> bytes:
    return hashlib.sha256(program_tag(name).encode()).digest()


def program_for_image_id(image_id: bytes) -> str | None:
    for name in PROGRAMS:
        if program_image_id(name) == image_id:
            return name
    return None


def decode_journal(data: bytes, kind: str) -> MetricJournal | CompositionJournal | CompositionJournalV1:
    if kind not in JOURNAL_TYPES:
        raise ValueError(f"unknown journal kind {kind!r}")
    return JOURNAL_TYPES[kind].decode(data)


def decode_program_journal(program: str, data: bytes):
    """The journal of a dev/attested program: a metric journal, the 16-field composition journal,
    or (programs named after the coprocessor's guests) what that guest commits."""
    if program == "composition":
        return CompositionJournal.decode(data)
    if program == "twap-error-bound-floating":
        return TwapErrorBoundInput.decode(data)
    if program == "max-return-floating":
        return MaxReturnJournal.decode(data)
    return MetricJournal.decode(data)


def decode_any_journal(data: bytes) -> MetricJournal | CompositionJournal | CompositionJournalV1:
    """The first journal type the bytes decode as exactly (decoders are strict, so at most one fits)."""
    errors = []
    for name, cls in JOURNAL_TYPES.items():
        try:
            return cls.decode(data)
        except JournalDecodeError as exc:
            errors.append(f"{name}: {exc}")
    raise JournalDecodeError("journal is in no known format (" + "; ".join(errors) + ")")
