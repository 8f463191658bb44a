from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so tests can `import fake_bonsai`
    sys.path.insert(0, str(HERE))

VECTORS = HERE.parents[2].parent / "shared" / "vectors"
RECEIPTS = VECTORS / "receipts"

DO_NOTHING_IMAGE_ID = bytes.fromhex("e0de604acf7c2f7428298bdceb2798f47d6bdca38180746cfc35f692fa546b98")
DO_NOTHING_CLAIM = bytes.fromhex("d01e6a044db665b266c6f702ddd7d29ce7a31d90724a932e36905e779cb1a6b1")


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    assert VECTORS.is_dir(), f"shared vectors not found at {VECTORS}"
    return VECTORS


@pytest.fixture(scope="session")
def do_nothing_receipt(vectors_dir: Path) -> bytes:
    return (vectors_dir / "receipts" / "risc0_v5_groth16_do_nothing.bin").read_bytes()


@pytest.fixture(scope="session")
def garaga_proof(vectors_dir: Path) -> dict:
    return json.loads((vectors_dir / "receipts" / "garaga_proof_risc0.json").read_text())


@pytest.fixture(scope="session")
def felt_vectors(vectors_dir: Path) -> dict:
    return json.loads((vectors_dir / "felt_conversion_vectors.json").read_text())
