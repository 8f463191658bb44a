"""Jobs of a vault round: priced by the coprocessor programs' rules on the exact hourly felts.

A job is a round job when its range is the profile's window for its metric
(``pricing.vault.shape_problem``): max return over ``total_hours`` ending at T, TWAP and reserve
price over the last ``pricing_hours``, all on full UTC hours. Such a job reads the hours' exact
felts (``selectors.hourly_felts``), prices by ``pricing.vault`` and hands the provider what the
programs read; every other job keeps the general engine (``handler.compute``).
"""

from __future__ import annotations

import hashlib
import struct

from django.conf import settings

from handler.pricing import data_commitment, felt_hex, twap
from handler.pricing.errors import MissingBucket, PricingError
from handler.pricing.vault import (
    HOUR,
    VaultPricingError,
    VaultRound,
    VaultShape,
    price_round,
    round_max_return,
    shape_problem,
)
from handler.pricing.vault import values_from_felts as felt_values
from handler.proofs.coprocessor.inputs import build_round_inputs
from handler.proofs.coprocessor.profile import load_profile
from handler.proofs.records import ProofInputs
from handler.selectors import hourly_felts

SEED_TAG = b"fossil-pricing/vault-round/v1"


def round_shape() -> VaultShape:
    return load_profile(getattr(settings, "COPROCESSOR_PROFILE", "")).shape


def is_round_job(metric: str, start: int, end: int) -> bool:
    return shape_problem(round_shape(), metric, start, end) is None


def vault_round_problem(params: dict) -> tuple[str, str] | None:
    """``(field, reason)`` when a request's ``params`` ({twap, volatility, reserve_price}: [start, end])
    are not a vault round of the profile's shape; None when they are."""
    shape = round_shape()
    fields = {"twap": "twap", "max_return": "volatility", "reserve_price": "reserve_price"}
    for metric, field in fields.items():
        start, end = params[field]
        problem = shape_problem(shape, metric, int(start), int(end))
        if problem:
            return field, problem
    if len({int(params[f][1]) for f in fields.values()}) != 1:
        return "volatility", "the three ranges of a vault round end at the same hour"
    return None


def _felts(start: int, end: int) -> list[int]:
    rows = hourly_felts(start, end)
    have = {hour for hour, _ in rows}
    for hour in range(start, end, HOUR):
        if hour not in have:
            raise MissingBucket(hour, HOUR, sum(1 for h in range(start, end, HOUR) if h not in have))
    return [felt for _, felt in rows]


class RoundHistoryMissing(PricingError):
    """The reserve price's own range is complete but the round's earlier hours are not: the job is
    priced by the general engine instead (it cannot be part of a provable round)."""


def round_seed(commitment: list[int], shape: VaultShape) -> int:
    h = hashlib.sha256(SEED_TAG + shape.name.encode())
    h.update(struct.pack(">8I", *commitment))
    return int.from_bytes(h.digest()[:8], "big")


def stored_round(end: int) -> tuple[list[int], VaultRound]:
    """The felts of the round ending at ``end`` from stored blocks, and the round priced on them."""
    shape = round_shape()
    if end % HOUR:
        raise PricingError("the round must end on a full UTC hour")
    felts = _felts(end - shape.total_hours * HOUR, end)
    values = felt_values(felts)
    return felts, price_round(values, end_timestamp=end, shape=shape, seed=round_seed(data_commitment(felts), shape))


def round_job(proof_id: str, metric: str, start: int, end: int) -> tuple[dict, ProofInputs]:
    """The job's JSON result and what its provider proves. Raises ``PricingError`` (``MissingBucket``,
    ``VaultPricingError`` naming the program that would refuse the round)."""
    shape = round_shape()
    rules = f"pitchlake-coprocessor:{shape.name}"
    round_start = end - shape.total_hours * HOUR
    if metric == "reserve_price":
        try:
            felts = _felts(round_start, end)
        except MissingBucket as exc:
            _felts(start, end)  # its own range: a gap there is the job's own MissingBucket
            raise RoundHistoryMissing(
                f"the round's first {shape.total_hours - shape.pricing_hours} hours: {exc}"
            ) from exc
    else:
        felts = _felts(start, end)
    values = felt_values(felts)
    extra: dict = {}
    round_inputs = None
    if metric == "twap":
        value = twap(values)
    elif metric == "max_return":
        value = round_max_return(values, shape)
        extra = {"window": shape.max_return_window, "period": shape.max_return_period}
    elif metric == "reserve_price":
        vault_round = price_round(
            values, end_timestamp=end, shape=shape, seed=round_seed(data_commitment(felts), shape)
        )
        value = vault_round.reserve_price
        extra = vault_round.summary()
        round_inputs = build_round_inputs(vault_round, felts)
        felts = felts[-shape.pricing_hours :]
        values = values[-shape.pricing_hours :]
    else:
        raise PricingError(f"unknown metric {metric!r}")
    commitment = data_commitment(felts)
    result = {
        "metric": metric,
        "value": repr(float(value)),
        "felt": felt_hex(float(value)),
        "bucket_seconds": HOUR,
        "points": len(values),
        "first_bucket": start,
        "last_bucket": end - HOUR,
        "data_commitment": commitment,
        "rules": rules,
        **extra,
    }
    inputs = ProofInputs(
        job_id=proof_id,
        metric=metric,
        window_start=start,
        window_end=end,
        value=float(value),
        data_commitment=tuple(commitment),
        series_timestamps=tuple(range(start, end, HOUR)),
        series_values=tuple(float(v) for v in values),
        rules=rules,
        felts=tuple(felts),
        round_inputs=round_inputs,
    )
    return result, inputs


__all__ = [
    "RoundHistoryMissing",
    "VaultPricingError",
    "is_round_job",
    "round_job",
    "round_shape",
    "stored_round",
    "stored_felts",
]


def stored_felts(start: int, end: int) -> list[int]:
    """The exact hourly felts of [start, end) from stored blocks; ``MissingBucket`` for an hour without blocks."""
    return _felts(start, end)
