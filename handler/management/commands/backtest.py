"""``manage.py backtest``: how the reserve price compares with what the option paid.

    python manage.py backtest --series FILE.csv --round-seconds 604800 --round-seconds 2592000
    python manage.py backtest --demo-days 32 --round-seconds 720 --round-seconds 10800 ...
                              [--paths 2000] [--step-seconds N] [--max-rounds N] [--model auto|mrj|lognormal] [--json]

Prices each round's reserve price from the three rounds before it and compares it with the
realised capped payoff of the round that follows (``handler.pricing.backtest``). One line per
round length: rounds, mean predicted and mean realised (fractions of the strike), their ratio,
the fraction of exact zeros and of cap-maximum prices, the models used, the gradient-check pass
rate of the jump-model prices and whether every price passed it or names its fallback. A series
coarser than the bucket a job would use for a round length (minute rows, 12-minute rounds) is
priced on its own buckets and marked. Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import json

import numpy as np

from fossil.commands import FossilCommand
from handler.pricing import PricingError
from handler.pricing.backtest import backtest, round_bucket_seconds
from handler.pricing.csvio import read_series_csv

DAY = 86400


def _duration(seconds: int) -> str:
    for unit, size in (("d", DAY), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def demo_block_series(days: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The demo chain's per-block base fees (12 s apart) from its default start, generated in memory."""
    from handler.chain.demo import DEFAULT_SEED, DEFAULT_START, generate_chain

    end = DEFAULT_START + int(days) * DAY
    ts, fees = [], []
    for header in generate_chain(DEFAULT_START, end, DEFAULT_SEED if seed is None else int(seed)):
        ts.append(header["timestamp"])
        fees.append(float(header["base_fee_per_gas"]))
    return np.asarray(ts, dtype=np.int64), np.asarray(fees, dtype=np.float64)


class Command(FossilCommand):
    help = "Backtest the reserve price: each round priced from the three before it, against its realised payoff."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--series", metavar="FILE.csv", help="bucket series, columns timestamp,base_fee")
        source.add_argument(
            "--demo-days", type=int, metavar="N", help="generate N days of the demo chain in memory (per block)"
        )
        parser.add_argument("--demo-seed", type=int, default=None)
        parser.add_argument(
            "--round-seconds", type=int, action="append", required=True, help="round length; repeat for several"
        )
        parser.add_argument("--paths", type=int, default=2000, help="Monte-Carlo paths per price (default 2000)")
        parser.add_argument("--step-seconds", type=int, default=None, help="slide step (default one round)")
        parser.add_argument(
            "--max-rounds", type=int, default=None, help="at most this many rounds, evenly spread (default: every one)"
        )
        parser.add_argument("--model", choices=("auto", "mrj", "lognormal"), default="auto")
        parser.add_argument("--json", action="store_true", help="one JSON object per round length")

    def handle(self, *args, **options):
        try:
            if options["series"]:
                series = read_series_csv(options["series"], range_spacing=False)
                ts, values, bucket = series.timestamps, series.values, series.bucket_seconds
                label = options["series"]
            else:
                if options["demo_days"] < 1:
                    raise PricingError("--demo-days must be at least 1")
                ts, values = demo_block_series(options["demo_days"], options["demo_seed"])
                bucket, label = 12, f"demo chain, {options['demo_days']} days"
            if options["paths"] < 2:
                raise PricingError("--paths must be at least 2")
            model = None if options["model"] == "auto" else options["model"]
            for round_seconds in options["round_seconds"]:
                round_bucket_seconds(bucket, round_seconds)
            if not options["json"]:
                self.stdout.write(f"{label}: {len(values)} buckets of {bucket}s, {options['paths']} paths per price")
                self.stdout.write(
                    f"{'round':>7} {'bucket':>6} {'rounds':>6} {'predicted':>9} {'realised':>9} "
                    f"{'ratio':>6} {'zeros':>5} {'at cap':>6}  {'models':<22} {'grad ok':>7}  named"
                )
            coarser = False
            for round_seconds in options["round_seconds"]:
                summary = backtest(
                    ts,
                    values,
                    bucket,
                    round_seconds,
                    num_paths=options["paths"],
                    step_seconds=options["step_seconds"],
                    max_rounds=options["max_rounds"],
                    model=model,
                )
                coarser |= summary.coarser
                self.stdout.write(json.dumps(summary.to_json()) if options["json"] else self._line(summary))
            if coarser and not options["json"]:
                self.stdout.write("* the series is coarser than the bucket a job uses for this round length")
        except PricingError as exc:
            self.fail(str(exc))

    @staticmethod
    def _line(s) -> str:
        models = ", ".join(f"{name} {count}" for name, count in sorted(s.models.items()))
        rate = "n/a" if s.gradient_pass_rate is None else f"{s.gradient_pass_rate:.0%}"
        bucket = f"{s.bucket_seconds}s" + ("*" if s.coarser else "")
        return (
            f"{_duration(s.round_seconds):>7} {bucket:>6} {s.rounds:>6} {s.mean_predicted:>9.4f} "
            f"{s.mean_realised:>9.4f} {s.ratio:>6.2f} {s.zero_fraction:>5.0%} {s.cap_fraction:>6.0%}  "
            f"{models:<22} {rate:>7}  {'yes' if s.named_or_passed else 'NO'}"
        )
