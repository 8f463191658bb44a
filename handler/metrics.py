"""From a bucket series to one job's metric, its JSON result and what a verifier checks.

Pure: no Django, no database. The handler's service feeds it the series it read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from handler import pricing


@dataclass(frozen=True)
class MetricOutcome:
    value: float
    result: dict  # what the job stores and the APIs return
    claims: dict = field(default_factory=dict)  # intermediate values for the verifier checks


def compute_metric(
    metric: str,
    series: pricing.BucketSeries,
    *,
    num_paths: int,
    seed: int | None = None,
    commitment: list[int] | None = None,
) -> MetricOutcome:
    """`commitment`, when the caller already has the series' data commitment, is not computed again."""
    values = series.values
    if commitment is None:
        commitment = pricing.data_commitment([pricing.float_to_felt(float(v)) for v in values])
    extra: dict = {}
    claims: dict = {}
    if metric == "twap":
        value = pricing.twap(values)
    elif metric == "max_return":
        outcome = pricing.max_return(values)
        value = outcome.value
        extra = {"window": outcome.window, "period": outcome.period}
    elif metric == "reserve_price":
        reserve = pricing.reserve_price(
            values, series.timestamps, seed=seed, num_paths=num_paths, commitment=commitment
        )
        value = reserve.price
        claims = reserve.to_json()
        extra = {
            key: claims[key]
            for key in (
                "model",
                "model_reason",
                "standard_error",
                "seed",
                "num_paths",
                "n_periods",
                "twap_window",
                "strike",
                "params",
                "gradient",
                "gradient_ok",
            )
        }
        if "lognormal" in claims:
            extra["lognormal"] = claims["lognormal"]
    else:
        raise ValueError(f"unknown metric {metric!r}")
    result = {
        "metric": metric,
        "value": repr(float(value)),
        "felt": pricing.felt_hex(float(value)),
        "bucket_seconds": series.bucket_seconds,
        "points": len(values),
        "first_bucket": int(series.timestamps[0]),
        "last_bucket": int(series.timestamps[-1]),
        "data_commitment": commitment,
        "rules": "engine",
        **extra,
    }
    return MetricOutcome(value=float(value), result=result, claims=claims)
