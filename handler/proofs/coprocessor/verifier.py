"""The coprocessor's Starknet verifier, as far as Fossil relies on it: how it reads a journal.

``pitchlake_verifier/src/lib.cairo`` ``decode_journal`` at the coprocessor's latest commit reads a
fixed layout: the 8 hash words (little-endian), ``start_timestamp`` and ``end_timestamp`` (u64
little-endian), then seven fixed-point strings, each a length word, ``0x`` and 64 hex digits:
``reserve_price, floating_point_tolerance, reserve_price_tolerance, twap_tolerance,
gradient_tolerance, twap_result, max_return``. That is the 10-field journal
(``journals.CompositionJournalV1``); the composition program at the same commit commits the
16-field ``ProofCompositionOutput`` (``journals.CompositionJournal``), which this layout misreads.
``decode_like_the_verifier`` transcribes it so the difference can be checked, not assumed.
"""

from __future__ import annotations

import struct

from ..errors import JournalDecodeError

FELT252_MAX = (1 << 251) + 17 * (1 << 192)  # the Stark prime minus one
FIXED_POINT_FIELDS = (
    "reserve_price",
    "floating_point_tolerance",
    "reserve_price_tolerance",
    "twap_tolerance",
    "gradient_tolerance",
    "twap_result",
    "max_return",
)
#: which journal a verifier decodes, by the name profiles use (``coprocessor.profile``)
VERIFIER_JOURNALS = ("composition", "composition_v1")


def decode_like_the_verifier(journal: bytes) -> dict:
    """The ``Journal`` the Cairo ``decode_journal`` returns for these bytes; ``JournalDecodeError``
    where it would panic (bytes missing, a value that is not a felt252)."""
    if len(journal) < 48 + 7 * 72:
        raise JournalDecodeError(f"the verifier reads {48 + 7 * 72} bytes, the journal has {len(journal)}")
    out: dict = {"data_8_months_hash": list(struct.unpack("<8I", journal[:32]))}
    out["start_timestamp"], out["end_timestamp"] = struct.unpack("<QQ", journal[32:48])
    offset = 48
    for name in FIXED_POINT_FIELDS:
        digits = journal[offset + 6 : offset + 70]  # past the length word and "0x", as the verifier skips them
        value = 0
        for byte in digits:
            value = (value << 4) + (byte - 48 if byte < 58 else byte - 87)  # its '0'-'9' / 'a'-'f' rule
        if not 0 <= value <= FELT252_MAX:
            raise JournalDecodeError(f"{name}: {value:#x} is not a felt252 (the verifier's unwrap panics)")
        out[name] = value
        offset += 72
    return out
