"""Groth16 seal verification (docs/proofs.md, "Pairing library"): time per check with each engine.

Runs every real receipt of tests/data/receipts/groth16_vectors.json through ``verify_seal`` with
garaga's native multi-pairing (when installed) and with py_ecc alone, and times garaga's calldata
for the one version its verifier carries. Prints the median over a few runs per vector.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fossil.settings")

from handler.proofs.coprocessor.starknet import garaga_available, garaga_calldata  # noqa: E402
from handler.proofs.risc0 import groth16  # noqa: E402
from handler.proofs.risc0.params import BY_NAME  # noqa: E402

RUNS = 3


def median_ms(fn) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> int:
    vectors = json.loads((ROOT / "tests" / "data" / "receipts" / "groth16_vectors.json").read_text())
    engines = ["auto", "py_ecc"] if garaga_available() else ["py_ecc"]
    print(f"{'vector':42} {'version':7} " + " ".join(f"{e + ' ms':>10}" for e in engines))
    totals = {e: [] for e in engines}
    for v in vectors:
        seal = BY_NAME[v["version"]].selector + bytes.fromhex(v["seal"])[-256:]
        digest = bytes.fromhex(v["claim_digest"])
        row = []
        for e in engines:
            ms = median_ms(lambda seal=seal, digest=digest, e=e: groth16.verify_seal(seal, digest, engine=e))
            totals[e].append(ms)
            row.append(f"{ms:10.1f}")
        print(f"{v['name'][:42]:42} {v['version']:7} " + " ".join(row))
    for e in engines:
        print(f"median over vectors, engine {e}: {statistics.median(totals[e]):.1f} ms")
    if garaga_available():
        v = next(v for v in vectors if v["version"] == "V2_2")
        record = {
            "kind": "groth16",
            "image_id": "0x" + v["image_id"],
            "journal": "0x" + v["journal"],
            "claim_digest": "0x" + v["claim_digest"],
            "seal": "0x" + v["seal"],
            "selector": "0x" + v["seal"][:8],
        }
        print(f"garaga calldata (V2_2, Rust hints): {median_ms(lambda: garaga_calldata(record)):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
