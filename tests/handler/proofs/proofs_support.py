"""Shared constants for the proof tests (public vectors under tests/data/, see its README)."""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
VECTORS = REPO / "tests" / "data"
RECEIPTS = VECTORS / "receipts"

DO_NOTHING_IMAGE_ID = bytes.fromhex("e0de604acf7c2f7428298bdceb2798f47d6bdca38180746cfc35f692fa546b98")
DO_NOTHING_CLAIM = bytes.fromhex("d01e6a044db665b266c6f702ddd7d29ce7a31d90724a932e36905e779cb1a6b1")

#: image ids for the eight coprocessor programs in tests (a real profile has the built programs')
COPROCESSOR_TEST_IMAGE_IDS = {
    name: hashlib.sha256(b"test image " + name.encode()).digest()
    for name in (
        "hashing-felts",
        "max-return-floating",
        "twap-error-bound-floating",
        "remove-seasonality-error-bound-floating",
        "add-twap-7d-error-bound-floating",
        "calculate-pt-pt1-error-bound-floating",
        "simulate-price-verify-position-floating",
        "proof-composition-twap-maxreturn-reserveprice-floating-hashing",
    )
}


def test_profile(elf_paths: dict | None = None):
    """A coprocessor profile of the current shape with the test image ids."""
    from handler.pricing.vault import POC_SHAPE
    from handler.proofs.coprocessor.profile import Profile

    return Profile(POC_SHAPE, dict(COPROCESSOR_TEST_IMAGE_IDS), dict(elf_paths or {}))


test_profile.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test
