"""The backtest: rounds priced from the three before them, against the realised capped payoff."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest

from handler.pricing import InvalidSeries
from handler.pricing.backtest import backtest, realised_payoff, rebucket
from handler.pricing.simulate import DISCOUNT

REPO_ROOT = Path(__file__).resolve().parents[3]
T0 = 1_672_531_200  # a day boundary


@pytest.fixture(autouse=True)
def _django_settings(request):
    if request.config.pluginmanager.hasplugin("django"):
        request.getfixturevalue("settings")


def test_realised_payoff_is_the_capped_discounted_call_on_the_last_window():
    nxt = np.array([1.0, 1.0, 1.1, 1.2])
    assert realised_payoff(nxt, 1.0, 2) == pytest.approx(DISCOUNT * 0.15, rel=1e-15)
    assert realised_payoff(nxt * 2, 1.0, 2) == pytest.approx(DISCOUNT * 0.3, rel=1e-15)  # capped at 30 %
    assert realised_payoff(nxt * 0.5, 1.0, 4) == 0.0


def test_rebucket_averages_complete_aligned_buckets_only():
    ts = T0 - 24 + 12 * np.arange(12)  # starts two blocks before a minute boundary
    ts2, x2 = rebucket(ts, np.arange(1.0, 13.0), 12, 60)
    assert ts2.tolist() == [T0, T0 + 60] and x2.tolist() == [5.0, 10.0]
    with pytest.raises(InvalidSeries, match="cannot be averaged into 60s buckets"):
        rebucket(T0 + 3600 * np.arange(5), np.ones(5), 3600, 60)


def test_a_coarser_series_runs_on_its_own_buckets_and_says_so():
    rng = np.random.default_rng(5)
    n = 24 * 60
    ts = T0 + 60 * np.arange(n)
    x = 2e10 * np.exp(np.cumsum(rng.normal(0, 0.005, n)))
    s = backtest(ts, x, 60, 720, num_paths=200, max_rounds=5)  # a job would use 12 s blocks
    assert s.bucket_seconds == 60 and s.coarser and s.rounds == 5 and s.to_json()["coarser_than_a_job"]
    assert not backtest(ts, x, 60, 3 * 3600, num_paths=200, max_rounds=2).coarser


def test_backtest_on_a_random_walk_reports_every_column():
    rng = np.random.default_rng(3)
    n = 12 * 3600 // 12  # 12 hours of blocks
    ts = T0 + 12 * np.arange(n)
    x = 2e10 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    s = backtest(ts, x, 12, 720, num_paths=500, max_rounds=10)
    assert (s.round_seconds, s.bucket_seconds, s.rounds) == (720, 12, 10)
    assert s.models == {"lognormal": 10} and s.gradient_pass_rate is None and s.named_or_passed
    assert s.zero_fraction == 0.0 and s.cap_fraction == 0.0
    assert 0 < s.mean_predicted < 0.3 and s.ratio == pytest.approx(s.mean_predicted / s.mean_realised)
    out = s.to_json()
    assert out["fallback_reasons"] == {"12s buckets": 10}
    hourly = backtest(ts, x, 12, 3 * 3600, num_paths=500)  # 3-hour rounds on minute buckets: one round fits
    assert hourly.bucket_seconds == 60 and hourly.rounds == 1


def test_the_vaults_shortest_round_is_whole_blocks():
    rng = np.random.default_rng(4)
    n = 3600 // 12
    ts = T0 + 12 * np.arange(n)
    x = 2e10 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    s = backtest(ts, x, 12, 90, num_paths=200, max_rounds=5)  # 1.5 minutes: 7 blocks, a 21-block range
    assert (s.bucket_seconds, s.rounds, s.zero_fraction) == (12, 5, 0.0)


def test_a_random_walk_is_priced_at_what_it_pays():
    """Calibration on a process whose law the model assumes: the ratio of means is about 1.

    Fixed seed, so the outcome is a fixed number (0.88 with these 357 rounds); the band is
    wide enough for the last-bit differences between machines, not for a miscalibration.
    """
    rng = np.random.default_rng(21)
    n = 3 * 86400 // 12
    ts = T0 + 12 * np.arange(n)
    x = 2e10 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    s = backtest(ts, x, 12, 720, num_paths=1000)
    assert s.rounds > 300 and 0.8 < s.ratio < 1.25, s.to_json()


def test_a_step_series_never_prices_zero():
    """Minutes that repeat each hour's value: ranges inside one hour do not move at all."""
    rng = np.random.default_rng(9)
    hours = 2e10 * np.exp(np.cumsum(rng.normal(0, 0.1, 7 * 24)))
    ts = T0 + 60 * np.arange(7 * 24 * 60)
    s = backtest(ts, np.repeat(hours, 60), 60, 720, num_paths=500)
    assert s.rounds > 800 and s.zero_fraction == 0.0 and s.cap_fraction == 0.0
    assert 0.5 < s.ratio < 2.0, s.to_json()


def test_backtest_needs_four_rounds():
    ts = T0 + 60 * np.arange(100)
    with pytest.raises(InvalidSeries, match="shorter than four rounds"):
        backtest(ts, np.ones(100), 60, 3 * 3600)


def test_command_on_the_hourly_data_prints_the_table():
    from django.core.management import call_command

    out = StringIO()
    call_command(
        "backtest",
        "--series",
        str(REPO_ROOT / "tests/data/max_return_input_hourly_avg_base_fee.csv"),
        "--round-seconds",
        "604800",
        "--paths",
        "500",
        "--max-rounds",
        "4",
        "--json",
        stdout=out,
    )
    row = json.loads(out.getvalue().strip().splitlines()[-1])
    assert row["rounds"] == 4 and row["models"] == {"mrj": 4} and row["gradient_pass_rate"] == 1.0


def test_command_bad_input_exits_2_with_one_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("timestamp,base_fee\n" + "".join(f"{T0 + 3600 * i},1e9\n" for i in range(200)))
    proc = subprocess.run(
        [sys.executable, "manage.py", "backtest", "--series", str(path), "--round-seconds", "5400"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "round length 5400s is not a whole number of 3600s buckets" in lines[0], proc.stderr


def test_command_generates_the_demo_chain_in_memory():
    from django.core.management import call_command

    out = StringIO()
    call_command(
        "backtest",
        "--demo-days",
        "2",
        "--round-seconds",
        "720",
        "--round-seconds",
        "10800",
        "--paths",
        "500",
        "--max-rounds",
        "5",
        "--json",
        stdout=out,
    )
    rows = [json.loads(line) for line in out.getvalue().strip().splitlines()]
    assert [(r["round_seconds"], r["bucket_seconds"]) for r in rows] == [(720, 12), (10800, 60)]
    for r in rows:
        assert r["models"] == {"lognormal": r["rounds"]} and r["zero_fraction"] == 0 and r["cap_fraction"] == 0


def test_rebucket_keeps_minutes_aligned_through_missed_slots():
    ts = T0 + 12 * np.arange(30)
    ts = np.delete(ts, [3, 11, 12])  # three missed slots
    x = (ts - T0 + 1).astype(float)  # a row's value is its second of the range, plus one
    ts2, x2 = rebucket(ts, x, 12, 60)
    assert ts2.tolist() == [T0 + 60 * k for k in range(6)]
    assert x2.tolist() == [1 + np.mean([0, 12, 24, 48]), 85.0, 1 + np.mean([120, 156, 168]), 205.0, 265.0, 325.0]
