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
journals are those guests' (``guests.py``), whichever provider proves them.
"""

from __future__ import annotations

import hashlib

PROGRAM_VERSION = "1"
PROGRAMS = ("twap", "max_return", "reserve_price", "composition", "twap-error-bound-floating", "max-return-floating")
#: the metric each program proves
PROGRAM_METRIC = {"twap-error-bound-floating": "twap", "max-return-floating": "max_return"}


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
