from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so tests can import fake_bonsai / proofs_support
    sys.path.insert(0, str(HERE))

from proofs_support import VECTORS  # noqa: E402


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    assert VECTORS.is_dir(), f"test data not found at {VECTORS}"
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
