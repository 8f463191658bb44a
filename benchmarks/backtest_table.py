"""The reserve-price backtest table of README.md and docs/pricing.md.

    .venv/bin/python benchmarks/backtest_table.py [--paths 2000] [--model auto|mrj|lognormal]

Runs ``manage.py backtest`` on:

* the real hourly data (tests/data, 5760 hours): 7- and 30-day rounds, the latter also
  sliding by a week; then the same hours in reverse order (a falling market, 62 to 13 gwei,
  where the data itself rises from 13 to 62);
* 32 days of the demo chain generated in memory, one value per block: 12-minute,
  3-hour, 12-hour and 1-day rounds;
* minute series built from the real hourly data, 30 days from 2022-09-15 and 30 days
  from 2023-04-13: each hour repeated 60 times (a step series) and log-linear
  interpolation between the hours (a smooth one). 12-minute rounds run on minutes
  there (a job would use blocks) and are marked.

Every round of each series is priced (no sampling). 2000 Monte-Carlo paths per price
instead of the production 15000 keep it to about a minute on 2 shared cores; the
standard error per price is then about 2.5 % of the price.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
HOURLY = REPO_ROOT / "tests" / "data" / "max_return_input_hourly_avg_base_fee.csv"
DAY = 86400
SHORT_ROUNDS = [arg for seconds in (720, 10800, 43200, DAY) for arg in ("--round-seconds", str(seconds))]
MINUTE_PERIODS = {"first 30 days": 0, "last 30 days": 210}


def _hourly() -> tuple[np.ndarray, np.ndarray]:
    with HOURLY.open() as f:
        rows = list(csv.DictReader(f))
    return np.array([int(r["timestamp"]) for r in rows]), np.array([float(r["base_fee"]) for r in rows])


def minute_series(kind: str, first_day: int, days: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from the real hours: ``repeat`` holds each hour's value, ``interp`` is log-linear between them."""
    ts, fees = _hourly()
    ts, fees = ts[first_day * 24 : (first_day + days) * 24 + 1], fees[first_day * 24 : (first_day + days) * 24 + 1]
    minutes = np.arange(ts[0], ts[-1], 60)
    if kind == "repeat":
        return minutes, fees[np.searchsorted(ts, minutes, side="right") - 1]
    return minutes, np.exp(np.interp(minutes, ts, np.log(fees)))


def _write(path: Path, ts: np.ndarray, fees: np.ndarray) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["timestamp", "base_fee"])
        out.writerows((int(t), repr(float(v))) for t, v in zip(ts, fees))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=2000)
    parser.add_argument("--model", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fossil-backtest-") as tmp:
        runs = [
            ["--series", str(HOURLY), "--round-seconds", str(7 * DAY), "--round-seconds", str(30 * DAY)],
            ["--series", str(HOURLY), "--round-seconds", str(30 * DAY), "--step-seconds", str(7 * DAY)],
        ]
        reversed_hours = Path(tmp) / "hourly-reversed.csv"
        ts, fees = _hourly()
        _write(reversed_hours, ts, fees[::-1])
        runs += [
            ["--series", str(reversed_hours), "--round-seconds", str(7 * DAY), "--round-seconds", str(30 * DAY)],
            ["--series", str(reversed_hours), "--round-seconds", str(30 * DAY), "--step-seconds", str(7 * DAY)],
            ["--demo-days", "32", *SHORT_ROUNDS],
        ]
        for label, first_day in MINUTE_PERIODS.items():
            for kind in ("repeat", "interp"):
                path = Path(tmp) / f"minutes-{kind}-{label.replace(' ', '-')}.csv"
                _write(path, *minute_series(kind, first_day))
                runs.append(["--series", str(path), *SHORT_ROUNDS])
        for run in runs:
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "manage.py", "backtest", *run, "--paths", str(args.paths), "--model", args.model],
                cwd=REPO_ROOT,
            )
            if proc.returncode:
                return proc.returncode
            print(f"({time.perf_counter() - t0:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
