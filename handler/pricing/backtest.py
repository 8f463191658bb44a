"""Backtest of the reserve price against what the option would have paid.

For a round length R and the bucket size its three-round range implies
(``series.bucket_seconds_for``), slide over a bucket series: at each position t the
reserve price is computed, exactly as a job would, from the three rounds before t
(``3 m`` buckets, ``m = R / bucket``), and compared with the realised payoff of the
round that follows, measured the way the model defines it: the mean of the last
``twap_window`` buckets of that round against the same strike, capped at 30 % of it
and discounted by ``e^-0.05``. Both are reported as fractions of the strike, so rounds
at 10 gwei and at 100 gwei weigh the same.

Pure: no Django, no database (``manage.py backtest`` reads CSV files or generates the
demo chain in memory).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidParameters, InvalidSeries
from .model_choice import MRJ
from .reserve_price import reserve_price
from .series import BLOCK, bucket_seconds_for
from .simulate import CAP, DISCOUNT
from .twap import as_series


@dataclass(frozen=True)
class RoundOutcome:
    start: int  # unix seconds: the priced round's first bucket
    strike: float
    predicted: float  # fraction of the strike
    realised: float  # fraction of the strike
    model: str
    model_reason: str
    gradient_ok: bool | None  # the jump-model fit's gradient check; None when no fit was attempted


@dataclass
class BacktestSummary:
    round_seconds: int
    bucket_seconds: int
    num_paths: int
    outcomes: list[RoundOutcome] = field(default_factory=list)
    seconds: float = 0.0
    coarser: bool = False  # the series is coarser than the bucket a job would use for this round

    @property
    def rounds(self) -> int:
        return len(self.outcomes)

    def _arr(self, name: str) -> np.ndarray:
        return np.array([getattr(o, name) for o in self.outcomes], dtype=np.float64)

    @property
    def mean_predicted(self) -> float:
        return float(np.mean(self._arr("predicted"))) if self.outcomes else float("nan")

    @property
    def mean_realised(self) -> float:
        return float(np.mean(self._arr("realised"))) if self.outcomes else float("nan")

    @property
    def ratio(self) -> float:
        r = self.mean_realised
        return self.mean_predicted / r if r > 0 else float("inf")

    @property
    def zero_fraction(self) -> float:
        return float(np.mean(self._arr("predicted") == 0.0)) if self.outcomes else 0.0

    @property
    def cap_fraction(self) -> float:
        """Prices at the payoff's maximum (every path at the cap)."""
        top = CAP * DISCOUNT * (1.0 - 1e-12)
        return float(np.mean(self._arr("predicted") >= top)) if self.outcomes else 0.0

    @property
    def models(self) -> dict[str, int]:
        return dict(Counter(o.model for o in self.outcomes))

    @property
    def gradient_pass_rate(self) -> float | None:
        """Among rounds where the jump model was fitted (priced or rejected); ``None`` if none."""
        checked = [o.gradient_ok for o in self.outcomes if o.gradient_ok is not None]
        return float(np.mean(checked)) if checked else None

    @property
    def named_or_passed(self) -> bool:
        """Every price passed the gradient check or names its fallback."""
        return all(
            (o.model == MRJ and o.gradient_ok) or (o.model != MRJ and bool(o.model_reason)) for o in self.outcomes
        )

    @property
    def fallback_reasons(self) -> dict[str, int]:
        return dict(Counter(o.model_reason.split(":")[0] for o in self.outcomes if o.model != MRJ))

    def to_json(self) -> dict:
        return {
            "round_seconds": self.round_seconds,
            "bucket_seconds": self.bucket_seconds,
            "rounds": self.rounds,
            "num_paths": self.num_paths,
            "mean_predicted": self.mean_predicted,
            "mean_realised": self.mean_realised,
            "ratio": self.ratio,
            "zero_fraction": self.zero_fraction,
            "cap_fraction": self.cap_fraction,
            "models": self.models,
            "gradient_pass_rate": self.gradient_pass_rate,
            "named_or_passed": self.named_or_passed,
            "fallback_reasons": self.fallback_reasons,
            "coarser_than_a_job": self.coarser,
            "seconds": round(self.seconds, 2),
        }


def rebucket(timestamps, values, from_seconds: int, to_seconds: int) -> tuple[np.ndarray, np.ndarray]:
    """Average ``from_seconds`` rows into UTC-aligned ``to_seconds`` buckets by timestamp.

    Grouping by timestamp (not by position) keeps the buckets aligned through a block series'
    missed slots; a bucket at either end that the series covers only in part is left out.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    x = as_series(values)
    if to_seconds == from_seconds:
        return ts, x
    if to_seconds < from_seconds or to_seconds % from_seconds:
        raise InvalidSeries(f"a {from_seconds}s series cannot be averaged into {to_seconds}s buckets")
    labels = ts - ts % to_seconds
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    sums = np.add.reduceat(x, starts)
    counts = np.diff(np.r_[starts, len(x)])
    keep = np.ones(len(starts), dtype=bool)
    keep[0] = ts[0] % to_seconds < from_seconds  # the first row opens its bucket
    keep[-1] &= ts[-1] % to_seconds >= to_seconds - from_seconds  # the last row closes its bucket
    if not keep.any():
        raise InvalidSeries(f"no complete {to_seconds}s bucket in the series")
    return labels[starts][keep], (sums / counts)[keep]


def round_bucket_seconds(series_bucket_seconds: int, round_seconds: int) -> int:
    """The bucket a round length's three-round range implies, or the series' own if that is coarser.

    A job always uses the implied bucket; a backtest on, say, a minute series of
    12-minute rounds (implied: blocks) runs on the minutes it has, and says so
    (``BacktestSummary.coarser``). On blocks a round is its whole slots: the vault's
    1.5-minute round is 7 blocks, as its three-round range is 22 or 23.
    """
    round_seconds = int(round_seconds)
    series_bucket_seconds = int(series_bucket_seconds)
    if round_seconds < 1:
        raise InvalidParameters(f"round length must be positive, got {round_seconds}")
    bucket = max(bucket_seconds_for(0, 3 * round_seconds), series_bucket_seconds)
    if bucket % series_bucket_seconds:
        raise InvalidSeries(f"a {series_bucket_seconds}s series cannot be averaged into {bucket}s buckets")
    if round_seconds % bucket and bucket != BLOCK:
        raise InvalidParameters(f"round length {round_seconds}s is not a whole number of {bucket}s buckets")
    if round_seconds < bucket:
        raise InvalidParameters(f"round length {round_seconds}s is shorter than one {bucket}s bucket")
    return bucket


def realised_payoff(next_round: np.ndarray, strike: float, twap_window: int) -> float:
    """The model's payoff on what happened: capped call on the mean of the round's last ``twap_window`` buckets."""
    average = float(np.mean(next_round[-int(twap_window) :]))
    return DISCOUNT * min(max(average - strike, 0.0), CAP * strike)


def backtest(
    timestamps,
    values,
    series_bucket_seconds: int,
    round_seconds: int,
    *,
    num_paths: int = 2000,
    step_seconds: int | None = None,
    max_rounds: int | None = None,
    model: str | None = None,
) -> BacktestSummary:
    """Slide over the series and price each round from the three before it (module docstring).

    ``step_seconds`` (default one round) is how far the window moves between
    predictions; ``max_rounds`` keeps that many predictions, evenly spread.
    """
    round_seconds = int(round_seconds)
    bucket = round_bucket_seconds(series_bucket_seconds, round_seconds)
    ts, x = rebucket(timestamps, values, int(series_bucket_seconds), bucket)
    if len(ts) > 1 and np.any(np.diff(ts) != bucket) and bucket != BLOCK:
        raise InvalidSeries(f"the series has gaps at {bucket}s resolution; the backtest needs contiguous buckets")
    m = round_seconds // bucket
    step = m if step_seconds is None else max(1, int(step_seconds) // bucket)
    positions = list(range(3 * m, len(x) - m + 1, step))
    if not positions:
        raise InvalidSeries(
            f"the series ({len(x)} buckets of {bucket}s) is shorter than four rounds of "
            f"{round_seconds}s ({4 * m} buckets)"
        )
    if max_rounds is not None and len(positions) > max_rounds:
        positions = [positions[int(i)] for i in np.linspace(0, len(positions) - 1, int(max_rounds))]
    summary = BacktestSummary(
        round_seconds=round_seconds,
        bucket_seconds=bucket,
        num_paths=num_paths,
        coarser=bucket != bucket_seconds_for(0, 3 * round_seconds),
    )
    started = time.perf_counter()
    for t in positions:
        history, history_ts = x[t - 3 * m : t], ts[t - 3 * m : t]
        r = reserve_price(history, history_ts, num_paths=num_paths, bucket_seconds=bucket, model=model)
        paid = realised_payoff(x[t : t + m], r.strike, r.twap_window)
        summary.outcomes.append(
            RoundOutcome(
                start=int(ts[t]),
                strike=r.strike,
                predicted=r.price / r.strike,
                realised=paid / r.strike,
                model=r.model,
                model_reason=r.model_reason,
                gradient_ok=bool(r.gradient_ok) if r.mrj_fitted else None,
            )
        )
    summary.seconds = time.perf_counter() - started
    return summary
