"""`make bench-load` runs: a few requests through its own stack (Postgres, the SQS endpoint, every
process of make run), all completed and reported, and nothing of it left running afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


def test_bench_load_completes_a_small_run_and_stops_its_stack(tmp_path):
    run_dir = tmp_path / "bench"
    figures = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "DATABASE_URL", "SQS_"))}
    out = subprocess.run(
        [
            sys.executable,
            "benchmarks/bench_load.py",
            "--requests",
            "6",
            "--scenarios",
            "one-machine",
            "--compute-samples",
            "2",
            "--run-dir",
            str(run_dir),
            "--json",
            str(figures),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "| one-machine | 1 | 6 |" in out.stdout
    (outcome,) = json.loads(figures.read_text())
    assert outcome["lost"] == 0
    assert outcome["jobs"]["jobs"] == outcome["jobs"]["proofs"] == 18
    assert outcome["pure_compute"]["db_cpu_per_request_s"] > 0
    leftover = subprocess.run(["pgrep", "-f", str(run_dir)], capture_output=True, text=True).stdout.split()
    assert not leftover, f"processes of the benchmark's stack still running: {leftover}"
