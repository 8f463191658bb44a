"""Pricing engine benchmarks (figures, not timed tests).

    .venv/bin/python benchmarks/bench_pricing.py [--runs N]

Reserve price on Dataset A (15000 paths x 720 steps, fit included), the
log-normal reserve price on the longest minute range (6 days 23 hours: 10,020
buckets, 15000 paths, 3340 steps of which the last 779 are simulated), max return
on 5760 points, TWAP on 2160 points. Prints median/min wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
VECTORS = REPO_ROOT / "tests" / "data"

from handler.pricing import max_return, reserve_price, twap  # noqa: E402
from handler.pricing.csvio import read_series_csv  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float, object]:
    result = fn()  # warm-up (imports, allocator)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    dataset_a = read_series_csv(VECTORS / "first_period_hourly_avg_base_fee.csv")
    long_series = read_series_csv(VECTORS / "max_return_input_hourly_avg_base_fee.csv")
    last_2160 = long_series.values[-2160:]

    rows = []
    med, best, r = timed(
        lambda: reserve_price(dataset_a.values, dataset_a.timestamps, num_paths=15000, n_periods=720), args.runs
    )
    rows.append(
        (
            "reserve_price Dataset A 15000x720",
            med,
            best,
            f"price {r.price:.6e} wei, se {r.standard_error:.3e}, max|grad| {max(abs(r.gradient)):.2e}",
        )
    )
    import numpy as np

    rng = np.random.default_rng(1)
    minutes = 7 * 1440 - 60
    minute_ts = 1672531200 + 60 * np.arange(minutes)
    minute_x = 2e10 * np.exp(np.cumsum(rng.normal(0, 0.003, minutes)))
    med, best, r = timed(lambda: reserve_price(minute_x, minute_ts, num_paths=15000), args.runs)
    rows.append(
        (
            f"reserve_price {minutes} minutes 15000 paths",
            med,
            best,
            f"model {r.model}, {r.n_periods} steps, window {r.twap_window}, price/strike {r.price / r.strike:.4f}",
        )
    )
    med, best, mr = timed(lambda: max_return(long_series.values), args.runs * 3)
    rows.append(("max_return 5760", med, best, f"value {mr.value!r}"))
    med, best, tw = timed(lambda: twap(last_2160), args.runs * 30)
    rows.append(("twap 2160", med, best, f"value {tw!r}"))

    for name, med, best, note in rows:
        print(f"{name:<36} median {med * 1e3:9.2f} ms   min {best * 1e3:9.2f} ms   {note}")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak RSS (whole process) {peak_kib / 1024:.1f} MB")


if __name__ == "__main__":
    main()
