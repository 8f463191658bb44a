"""``manage.py price``: the pricing engine on a bucket series from CSV.

    python manage.py price --series FILE.csv [--metric twap|max_return|volatility|reserve_price|all]
                           [--seed N] [--paths N] [--json]

Bad input (missing file, wrong columns, non-positive fee, gap, too few points,
timestamps that are not unix seconds, a bucket spacing other than the one the
range implies) exits with status 2 and one line on stderr, like a usage error.
The reserve price names the model that priced it (``model``, ``model_reason``).
"""

from __future__ import annotations

import json

import numpy as np

from fossil.commands import FossilCommand
from handler.pricing import (
    PricingError,
    cap_level,
    cap_level_bps,
    data_commitment,
    felt_hex,
    max_return,
    reserve_price,
    twap,
    volatility,
)
from handler.pricing.commitment import BATCH_SIZE
from handler.pricing.csvio import read_series_csv

METRICS = ("twap", "max_return", "volatility", "reserve_price")


def _decimal(value: float) -> str:
    """Shortest round-trip digits, never in exponent notation (wei values can pass 1e16)."""
    return np.format_float_positional(float(value), unique=True, trim="0")


def _number(value: float) -> dict:
    return {"value": _decimal(value), "hex": felt_hex(float(value))}


class Command(FossilCommand):
    help = "Compute TWAP, max return, volatility and/or reserve price for a bucket series CSV (timestamp,base_fee)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--series",
            required=True,
            metavar="FILE.csv",
            help="CSV with columns timestamp,base_fee; base_fee in decimal wei or a 0x felt",
        )
        parser.add_argument("--metric", choices=METRICS + ("all",), default="all")
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Monte-Carlo seed (default: derived from the data commitment and the request)",
        )
        parser.add_argument("--paths", type=int, default=15000, help="Monte-Carlo paths (default 15000)")
        parser.add_argument(
            "--n-periods",
            type=int,
            default=None,
            help="simulated steps, one per bucket (default: a third of the series, at most 720 for hourly buckets)",
        )
        parser.add_argument("--alpha-bps", type=int, default=None, help="with --k-bps, also report the cap level")
        parser.add_argument("--k-bps", type=int, default=None)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        try:
            report = self._compute(options)
        except PricingError as exc:
            self.fail(str(exc))
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(self._table(report))

    def _compute(self, options) -> dict:
        series = read_series_csv(options["series"])
        wanted = METRICS if options["metric"] == "all" else (options["metric"],)
        n = len(series.values)
        commitment = data_commitment(series.felts)
        report: dict = {
            "rows": n,
            "bucket_seconds": series.bucket_seconds,
            "first_timestamp": int(series.timestamps[0]),
            "last_timestamp": int(series.timestamps[-1]),
            # The reference commits to whole 180-felt batches only.
            "data_commitment": commitment if n % BATCH_SIZE == 0 else None,
        }
        if "twap" in wanted:
            report["twap"] = _number(twap(series.values))
        if "max_return" in wanted:
            mr = max_return(series.values)
            report["max_return"] = {**_number(mr.value), "window": mr.window, "period": mr.period}
        if "volatility" in wanted:
            vol = volatility(series.values)
            entry = _number(vol)
            if options["alpha_bps"] is not None and options["k_bps"] is not None:
                cl = cap_level(vol, options["alpha_bps"], options["k_bps"])
                entry["cap_level"] = {**_number(cl), "bps": cap_level_bps(cl)}
            report["volatility"] = entry
        if "reserve_price" in wanted:
            r = reserve_price(
                series.values,
                series.timestamps,
                seed=options["seed"],
                num_paths=options["paths"],
                n_periods=options["n_periods"],
                commitment=commitment,
                bucket_seconds=series.bucket_seconds,
            )
            full = r.to_json()
            report["reserve_price"] = {
                **_number(r.price),
                "seed": r.seed,
                "standard_error": _decimal(r.standard_error),
                "num_paths": r.num_paths,
                "n_periods": r.n_periods,
                "twap_window": r.twap_window,
                "strike": _number(r.strike),
                "params": full["params"],
                "gradient": full["gradient"],
                "gradient_ok": r.gradient_ok,
                "antithetic": r.antithetic,
                "model": r.model,
                "model_reason": r.model_reason,
                "mrj_fitted": r.mrj_fitted,
            }
            if "lognormal" in full:
                report["reserve_price"]["lognormal"] = full["lognormal"]
        return report

    @staticmethod
    def _table(report: dict) -> str:
        lines = [
            f"rows {report['rows']} ({report['bucket_seconds']}s buckets, "
            f"{report['first_timestamp']}..{report['last_timestamp']})"
        ]
        if report["data_commitment"] is not None:
            lines.append("commitment " + " ".join(str(w) for w in report["data_commitment"]))
        for name in METRICS:
            if name in report:
                entry = report[name]
                lines.append(f"{name:<14}{entry['value']:>26}  {entry['hex']}")
        if "reserve_price" in report:
            r = report["reserve_price"]
            gradient = f", max |gradient| {max(abs(g) for g in r['gradient']):.3g}" if r["mrj_fitted"] else ""
            lines.append(
                f"{'':<14}standard error {float(r['standard_error']):.6g}, seed {r['seed']}, "
                f"{r['num_paths']} paths x {r['n_periods']} steps{gradient}"
            )
            lines.append(f"{'':<14}model {r['model']}" + (f" ({r['model_reason']})" if r["model_reason"] else ""))
        if "volatility" in report and "cap_level" in report["volatility"]:
            c = report["volatility"]["cap_level"]
            lines.append(f"{'cap_level':<14}{c['value']:>26}  {c['bps']} bps")
        return "\n".join(lines)
