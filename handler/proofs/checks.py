"""The checks the attested provider runs before it signs (it must not sign what it did not check).

Uses the pricing engine (``handler.pricing``):

* data commitment: ``data_commitment([float_to_felt(v) for v in series])`` equals the job's commitment;
* window: every bucket timestamp lies in ``[window_start, window_end]``;
* ``twap``: ``verify_twap`` (the TWAP guest's 1 % check) on the series;
* ``max_return``: recomputed and equal bit for bit (the max-return guest recomputes and commits it);
* ``reserve_price``: ``verify_reserve_price`` on the claims (fitted intermediates, gradient at the
  claimed parameters within 0.05 -- one-sided for a parameter on a bound of the domain, e.g.
  sigma_sq_j = 0, see ``handler.pricing.mrj.gradient_test`` -- and a fresh simulation within 5 %);
  the claimed price must be the value. The seasonal fit and the simulation step follow the
  series' bucket size (inferred from the timestamps), exactly as the engine computed them.
  Missing long series in the claims (``residuals``, ``twap_7d``) are recomputed from the data.

Raises ``PricingCheckFailed`` naming the first failed check.
"""

from __future__ import annotations

from typing import Any

from .errors import PricingCheckFailed
from .records import ProofInputs


def _pricing() -> Any:
    from handler import pricing  # lazy: keeps handler.proofs importable alone

    return pricing


def check_commitment(inputs: ProofInputs) -> None:
    p = _pricing()
    if not inputs.series_values:
        raise PricingCheckFailed("series: no bucket values to check")
    if inputs.series_timestamps and len(inputs.series_timestamps) != len(inputs.series_values):
        raise PricingCheckFailed("series: timestamps and values differ in length")
    commitment = tuple(p.data_commitment([p.float_to_felt(v) for v in inputs.series_values]))
    if commitment != tuple(inputs.data_commitment):
        raise PricingCheckFailed("data commitment: the series does not hash to the job's commitment")
    if inputs.series_timestamps and (
        min(inputs.series_timestamps) < inputs.window_start or max(inputs.series_timestamps) > inputs.window_end
    ):
        raise PricingCheckFailed("window: series timestamps fall outside the job's window")


def _params_list(params: Any) -> list[float]:
    if isinstance(params, dict):
        from handler.pricing.mrj import PARAM_NAMES

        return [float(params[name]) for name in PARAM_NAMES]
    return [float(v) for v in params]


def check_metric(inputs: ProofInputs, *, num_paths: int | None = None) -> list[dict]:
    """Run the metric's verifier checks; returns their JSON summaries."""
    p = _pricing()
    values = list(inputs.series_values)
    if inputs.metric == "twap":
        from handler.pricing.verify import verify_twap

        res = verify_twap(values, inputs.value)
    elif inputs.metric == "max_return":
        computed = p.max_return(values).value
        if computed != inputs.value:
            raise PricingCheckFailed(f"max_return: computed {computed!r}, claimed {inputs.value!r}")
        return [{"name": "max_return", "passed": True, "detail": "recomputed, bit-exact"}]
    else:
        res = _verify_reserve_price(inputs, values, num_paths=num_paths)
    if not res.ok:
        failed = next(c for c in res.checks if not c.passed)
        raise PricingCheckFailed(f"{failed.name}: {failed.detail}" if failed.detail else failed.name)
    return res.to_json()["checks"]


def _verify_reserve_price(inputs: ProofInputs, values: list[float], *, num_paths: int | None) -> Any:
    from handler.pricing.reserve_price import REFERENCE_TWAP_WINDOW, remove_trend_and_seasonality, scaled_window
    from handler.pricing.twap import trailing_mean
    from handler.pricing.verify import verify_reserve_price

    c = inputs.claims or {}
    required = ("price", "slope", "intercept", "season_params", "params")
    missing = [k for k in required if k not in c]
    if missing:
        raise PricingCheckFailed(f"claims: reserve_price claims lack {', '.join(missing)}")
    if float(c["price"]) != inputs.value:
        raise PricingCheckFailed(f"claims: claimed price {c['price']!r} is not the job's value {inputs.value!r}")
    timestamps = list(inputs.series_timestamps) or None
    residuals = c.get("residuals")
    if residuals is None:
        residuals = remove_trend_and_seasonality(values, timestamps).residuals
    twap_7d = c.get("twap_7d")
    if twap_7d is None:
        twap_7d = trailing_mean(values, scaled_window(REFERENCE_TWAP_WINDOW, len(values)))
    kwargs: dict[str, Any] = {}
    if c.get("n_periods") is not None:
        kwargs["n_periods"] = int(c["n_periods"])
    # The claimed simulation is seeded, so the verifier re-runs exactly it (same seed, same
    # path count) rather than an independent one: a fresh simulation only agrees within its
    # Monte-Carlo error, which for a far out-of-the-money price is far more than 5 %.
    if c.get("num_paths") is not None:
        kwargs["num_paths"] = int(c["num_paths"])
    elif num_paths is not None:
        kwargs["num_paths"] = int(num_paths)
    return verify_reserve_price(
        values,
        slope=float(c["slope"]),
        intercept=float(c["intercept"]),
        season_params=c["season_params"],
        residuals=residuals,
        twap_7d=twap_7d,
        params=_params_list(c["params"]),
        reserve_price=float(c["price"]),
        twap_result=float(c["twap"]) if c.get("twap") is not None else None,
        timestamps=timestamps,
        seed=int(c.get("seed", 0)),
        **kwargs,
    )


def check_round_job(inputs: ProofInputs) -> list[dict]:
    """A vault round's job (``inputs.rules`` names the coprocessor profile): the data commitment
    over its exact felts, the values those felts are, and the value by the programs' own checks
    (for the reserve price, every program's check on the round's inputs)."""
    import dataclasses

    from handler.pricing.commitment import data_commitment
    from handler.pricing.vault import POC_SHAPE, values_from_felts

    from .coprocessor.checks import max_return_floating, precheck_round
    from .coprocessor.guests import MaxReturnInput, MaxReturnJournal
    from .errors import ProgramCheckFailed

    if not inputs.felts or tuple(data_commitment(inputs.felts)) != tuple(inputs.data_commitment):
        raise PricingCheckFailed("data commitment: the job's felts do not hash to its commitment")
    values = values_from_felts(inputs.felts)
    if tuple(float(v) for v in values) != tuple(inputs.series_values):
        raise PricingCheckFailed("series: the values are not the programs' reading of the felts")
    if inputs.metric == "twap":
        res = _pricing().verify_twap(list(values), inputs.value)
        if not res.ok:
            raise PricingCheckFailed("twap: not within the TWAP program's tolerance")
        return res.to_json()["checks"]
    if inputs.metric == "max_return":
        n = len(values)
        shape = dataclasses.replace(POC_SHAPE, total_hours=n, pricing_hours=min(n, POC_SHAPE.pricing_hours))
        try:
            journal = MaxReturnJournal.decode(max_return_floating(MaxReturnInput(tuple(values)).encode(), shape))
        except ProgramCheckFailed as exc:
            raise PricingCheckFailed(str(exc)) from exc
        if journal.max_return != inputs.value:
            raise PricingCheckFailed(
                f"max_return: the program computes {journal.max_return!r}, claimed {inputs.value!r}"
            )
        return [{"name": "max-return-floating", "passed": True, "detail": "recomputed, bit-exact"}]
    round_inputs = inputs.round_inputs
    if round_inputs is None or round_inputs.composition.reserve_price != inputs.value:
        raise PricingCheckFailed("reserve_price: the job's value is not the round's claimed reserve price")
    results = precheck_round(round_inputs, round_inputs.shape)
    failed = [r for r in results if not r.ok]
    if failed:
        raise PricingCheckFailed(failed[0].detail)
    return [{"name": r.program, "passed": True, "detail": r.detail} for r in results]
