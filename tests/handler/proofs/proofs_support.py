"""Shared constants for the proof tests (public vectors under tests/data/, see its README)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
VECTORS = REPO / "tests" / "data"
RECEIPTS = VECTORS / "receipts"

DO_NOTHING_IMAGE_ID = bytes.fromhex("e0de604acf7c2f7428298bdceb2798f47d6bdca38180746cfc35f692fa546b98")
DO_NOTHING_CLAIM = bytes.fromhex("d01e6a044db665b266c6f702ddd7d29ce7a31d90724a932e36905e779cb1a6b1")
