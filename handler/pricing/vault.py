"""The vault-verifiable round: what the Pitch Lake coprocessor's programs prove, priced by their rules.

A vault settles a round on one composition proof over one hourly series ending at ``T``
(docs/proofs.md, "Vault-verifiable requests"). ``VaultShape`` says how long that series is and
which part each program reads; the coprocessor's current programs read 1,440 hourly values
(hashing, max return) and price on the last 720 (TWAP, seasonality, 7-day TWAP, pt/pt_1,
simulation over 720 steps). A rebuilt set of programs with another shape is another
``VaultShape``, not other code.

The programs' rules differ from the general engine's (``reserve_price``, ``max_return``):

* values are the programs' own: each hourly felt ``floor(sum * 2**128 / count)`` read back as
  ``high + low / 2**128`` (``felts.felt_to_float``), so the hash and every number agree;
* max return with ``W = P = 240`` on 1,440 values (720 on longer series), as the program computes;
* the 7-day TWAP over a 168-hour window, seasonality on ``t = index``, the jump model always,
  ``n_periods`` steps, strike = last 7-day TWAP, cap 1.3 x strike, discount ``e**-0.05``;
* the reserve price is claimed from ``claim_paths`` simulated paths of the program's own
  process (``simulate_round_payoffs``); the program re-prices with ``num_paths`` draws of its
  own and accepts within 5 % of its draw, so ``num_paths`` is chosen per round from the
  per-path variance for a pass probability of at least ``pass_probability``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from .errors import InvalidParameters, PricingError
from .felts import felt_to_float
from .mrj import PARAM_NAMES, fit_mrj
from .reserve_price import remove_trend_and_seasonality
from .simulate import seasonal_basis
from .twap import as_series, trailing_mean, twap, window_sums

HOUR = 3600
DENSITY_FLOOR = 1e-10
DISCOUNT = math.exp(-0.05)
TREND_DRIFT = 0.05 / 52.0
TREND_DT = 1.0 / 24.0
_EPS = float(np.finfo(np.float64).eps)


class VaultPricingError(PricingError):
    """The round cannot be proved by the programs: ``program`` and ``field`` say which check would fail."""

    def __init__(self, program: str, field_name: str, message: str) -> None:
        super().__init__(f"{program}: {field_name}: {message}")
        self.program = program
        self.field = field_name


@dataclass(frozen=True)
class VaultShape:
    """The request shape and the constants of one set of the coprocessor's programs."""

    name: str = "poc"
    total_hours: int = 1440  # the hashed series; max return over all of it
    pricing_hours: int = 720  # the last part: TWAP, seasonality, 7-day TWAP, simulation
    n_periods: int = 720
    twap_7d_window: int = 168
    payoff_rows: int = 168
    cap_multiple: float = 1.3
    tolerances: dict = field(
        default_factory=lambda: {
            "floating_point_tolerance": 0.00001,
            "reserve_price_tolerance": 5.0,
            "twap_tolerance": 1.0,
            "gradient_tolerance": 0.05,
        }
    )
    claim_paths: int = 200_000
    min_guest_paths: int = 4_000
    max_guest_paths: int = 100_000
    pass_probability: float = 0.99
    # the pre-check estimates the probability from a draw of its own, so it accepts down to this
    precheck_probability: float = 0.95
    gradient_margin: float = 0.01  # the program's sums run in another order: keep this far inside

    def __post_init__(self) -> None:
        if not 0 < self.pricing_hours <= self.total_hours:
            raise InvalidParameters("vault shape: pricing_hours must be in (0, total_hours]")
        if self.pricing_hours < self.twap_7d_window:
            raise InvalidParameters("vault shape: pricing_hours must cover the 7-day TWAP window")
        if not 0 < self.payoff_rows <= self.n_periods:
            raise InvalidParameters("vault shape: payoff_rows must be in (0, n_periods]")
        if not 0.5 <= self.pass_probability < 1.0:
            raise InvalidParameters("vault shape: pass_probability must be in [0.5, 1)")
        if not 0 < self.min_guest_paths <= self.max_guest_paths:
            raise InvalidParameters("vault shape: min_guest_paths must be in (0, max_guest_paths]")

    @property
    def max_return_window(self) -> int:
        """The max-return program's W: 240 on series up to 2,000 values, else 720."""
        return 240 if self.total_hours <= 2000 else 720

    @property
    def max_return_period(self) -> int:
        """Its P: 240 when the window means number at most 1,500, else 720."""
        return 240 if self.total_hours - self.max_return_window <= 1500 else 720

    def windows(self, end: int) -> dict[str, tuple[int, int]]:
        """``metric -> (start, end)`` of the three jobs of a vault round ending at ``end``."""
        return {
            "max_return": (end - self.total_hours * HOUR, end),
            "twap": (end - self.pricing_hours * HOUR, end),
            "reserve_price": (end - self.pricing_hours * HOUR, end),
        }

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "total_hours": self.total_hours,
            "pricing_hours": self.pricing_hours,
            "n_periods": self.n_periods,
            "twap_7d_window": self.twap_7d_window,
            "max_return_window": self.max_return_window,
            "max_return_period": self.max_return_period,
            "tolerances": dict(self.tolerances),
        }


POC_SHAPE = VaultShape()


def shape_problem(shape: VaultShape, metric: str, start: int, end: int) -> str | None:
    """Why one job's range is not the shape's window for its metric (None if it is)."""
    if metric not in ("twap", "max_return", "reserve_price"):
        return f"unknown metric {metric!r}"
    if end % HOUR or start % HOUR:
        return "the range must start and end on a full UTC hour"
    hours = shape.total_hours if metric == "max_return" else shape.pricing_hours
    if end - start != hours * HOUR:
        return f"{metric} must cover {hours} hours ending at the round's end, got {(end - start) / HOUR:g}"
    return None


def round_problem(shape: VaultShape, ranges: dict[str, tuple[int, int]]) -> str | None:
    """Why a group's three ranges are not one vault round (None if they are)."""
    if set(ranges) != {"twap", "max_return", "reserve_price"}:
        return "a vault round has exactly the twap, max_return and reserve_price jobs"
    for metric, (start, end) in sorted(ranges.items()):
        problem = shape_problem(shape, metric, start, end)
        if problem:
            return problem
    ends = {end for _, end in ranges.values()}
    if len(ends) != 1:
        return "the three ranges must end at the same time"
    return None


# ---------------------------------------------------------------- the programs' values


def hourly_felt(fee_sum: int, count: int) -> int:
    """The felt of one hour: its mean base fee ``sum / count`` truncated to UFixedPoint123x128, exactly."""
    if count <= 0:
        raise InvalidParameters("an hour without blocks has no felt")
    return (int(fee_sum) << 128) // int(count)


def values_from_felts(felts) -> np.ndarray:
    """The programs' f64 of each felt (the hashing program commits exactly these)."""
    return np.array([felt_to_float(int(f)) for f in felts], dtype=np.float64)


def round_max_return(values, shape: VaultShape) -> float:
    """``max_k M[k+P]/M[k] - 1`` with ``M[k] = sum(x[k..k+W]) / W`` summed left to right (the program's order)."""
    x = as_series(values, name="max return series")
    if len(x) != shape.total_hours:
        raise VaultPricingError("max-return-floating", "data", f"needs {shape.total_hours} values, got {len(x)}")
    w, p = shape.max_return_window, shape.max_return_period
    means = window_sums(x, w, len(x) - w) / w
    if len(means) <= p:
        raise VaultPricingError("max-return-floating", "data", f"needs more than {p} window means")
    return float(np.max(means[p:] / means[:-p] - 1.0))


def round_twap_7d(values, shape: VaultShape) -> np.ndarray:
    return trailing_mean(values, shape.twap_7d_window)


# ---------------------------------------------------------------- the simulate program's likelihood


def program_nll(theta, pt: np.ndarray, pt_1: np.ndarray) -> float:
    """The program's negative log-likelihood, summed left to right as it sums."""
    a, phi, mu_j, s2, sj2, lam = (float(t) for t in theta)
    with np.errstate(all="ignore"):
        diff1 = pt - (a + phi * pt_1 + mu_j)
        diff2 = pt - (a + phi * pt_1)
        term1 = lam * np.exp(-(diff1**2) / (2.0 * (s2 + sj2))) / math.sqrt(2.0 * math.pi * (s2 + sj2))
        term2 = (1.0 - lam) * np.exp(-(diff2**2) / (2.0 * s2)) / math.sqrt(2.0 * math.pi * s2)
        logs = np.log(term1 + term2 + DENSITY_FLOOR)
    return float(-np.add.accumulate(logs)[-1])


def program_gradient(theta, pt: np.ndarray, pt_1: np.ndarray) -> np.ndarray:
    """Forward differences with step ``sqrt(eps |x|)`` (``eps * 1e10`` at 0), as the program takes them."""
    x = [float(t) for t in theta]
    if min(x[3], x[3] + x[4]) <= 0.0:
        return np.full(6, math.nan)
    current = program_nll(x, pt, pt_1)
    out = np.empty(6)
    for i, xi in enumerate(list(x)):
        h = _EPS * 1.0e10 if xi == 0.0 else math.sqrt(_EPS * abs(xi))
        x[i] = xi + h
        out[i] = (program_nll(x, pt, pt_1) - current) / h
        x[i] = xi
    return out


def simulation_domain_problem(theta) -> str | None:
    """What makes the program's simulation panic or produce NaN for these parameters."""
    a, phi, mu_j, s2, sj2, lam = (float(t) for t in theta)
    if not all(math.isfinite(v) for v in (a, phi, mu_j, s2, sj2, lam)):
        return "a parameter is not finite"
    if not 0.0 <= lam <= 1.0:
        return f"lambda {lam!r} is not a probability (the program's Binomial(lambda, 1) fails)"
    if s2 <= 0.0 or sj2 < 0.0:
        return "sigma_sq must be > 0 and sigma_sq_j >= 0 (the program takes their square roots)"
    return None


# ---------------------------------------------------------------- the simulate program's process


@dataclass(frozen=True)
class RoundModel:
    """Everything the simulation reads, from the pricing window's intermediates."""

    last_residual: float
    params: np.ndarray
    season: np.ndarray  # (n_periods,) seasonal level at t = hours(end - start) + i
    level: float  # slope * (data_length - 1) + intercept
    trend_sigma: float
    strike: float
    n_periods: int
    payoff_rows: int
    cap_multiple: float


def round_model(
    *,
    residuals,
    params,
    season_params,
    twap_7d,
    slope: float,
    intercept: float,
    data_length: int,
    start_timestamp: int,
    end_timestamp: int,
    shape: VaultShape,
) -> RoundModel:
    total_hours = (int(end_timestamp) - int(start_timestamp)) // HOUR
    t = float(total_hours) + np.arange(shape.n_periods, dtype=np.float64)
    season = seasonal_basis(t) @ np.asarray(season_params, dtype=np.float64)
    log_twap = np.log(np.asarray(twap_7d, dtype=np.float64))
    trend_sigma = float(np.std(np.diff(log_twap)) * math.sqrt(168.0))  # population sd, like the program
    if not trend_sigma > 0.0:
        raise VaultPricingError(
            "simulate-price-verify-position-floating", "twap_7d", "a flat 7-day TWAP leaves no trend volatility"
        )
    return RoundModel(
        last_residual=float(np.asarray(residuals)[-1]),
        params=np.asarray(params, dtype=np.float64),
        season=season,
        level=float(slope) * (int(data_length) - 1) + float(intercept),
        trend_sigma=trend_sigma,
        strike=float(np.asarray(twap_7d)[-1]),
        n_periods=shape.n_periods,
        payoff_rows=shape.payoff_rows,
        cap_multiple=shape.cap_multiple,
    )


def simulate_round_payoffs(model: RoundModel, num_paths: int, rng: np.random.Generator, *, chunk: int = 65536):
    """Discounted payoff of each of ``num_paths`` paths of the program's process (its mean is its reserve price).

    Jump-model residual from the last one, plus the seasonal level, the final trend level and a
    geometric trend; the payoff averages the last ``payoff_rows`` prices of each path, capped at
    ``cap_multiple`` x strike.
    """
    a, phi, mu_j, s2, sj2, lam = (float(v) for v in model.params)
    sd, sd_j = math.sqrt(s2), math.sqrt(sj2)
    sigma = model.trend_sigma
    drift = (TREND_DRIFT - 0.5 * sigma * sigma) * TREND_DT
    shock_sd = sigma * math.sqrt(TREND_DT)
    first_avg_row = model.n_periods - model.payoff_rows
    cap = model.cap_multiple * model.strike
    out = np.empty(num_paths)
    for lo in range(0, num_paths, chunk):
        m = min(chunk, num_paths - lo)
        x = np.full(m, model.last_residual)
        trend = np.zeros(m)
        total = np.zeros(m)
        for i in range(model.n_periods):
            if i > 0:
                jumped = np.flatnonzero(rng.random(m) < lam)
                x = a + phi * x + sd * rng.standard_normal(m)
                x[jumped] += mu_j + sd_j * rng.standard_normal(len(jumped))
            trend += drift + shock_sd * rng.standard_normal(m)
            if i >= first_avg_row:
                total += np.exp(x + model.season[i] + model.level + trend)
        average = total / model.payoff_rows
        out[lo : lo + m] = DISCOUNT * np.maximum(np.minimum(average, cap) - model.strike, 0.0)
    return out


def pass_probability(claim: float, path_sd: float, claim_paths: int, num_paths: int, tolerance_pct: float) -> float:
    """Probability that the program's own ``num_paths``-path price ``g`` satisfies ``|g - claim| / g < tol``.

    ``g`` and the claim are both sample means of the same payoff distribution; their difference is
    about normal with variance ``sd**2 (1/num_paths + 1/claim_paths)``, and the check passes for
    ``claim / (1 + tol) < g < claim / (1 - tol)``.
    """
    if claim <= 0.0:
        return 1.0 if path_sd == 0.0 else 0.0
    tol = tolerance_pct / 100.0
    sd_diff = path_sd * math.sqrt(1.0 / num_paths + 1.0 / claim_paths)
    if sd_diff == 0.0:
        return 1.0
    upper = claim / (1.0 - tol) - claim
    lower = claim - claim / (1.0 + tol)
    return float(norm.cdf(upper / sd_diff) - norm.cdf(-lower / sd_diff))


def guest_paths_for(claim: float, path_sd: float, shape: VaultShape) -> tuple[int, float]:
    """The smallest ``num_paths`` (in steps of 1,000 or more, from ``min_guest_paths``) that reaches
    the target pass probability."""
    tol = shape.tolerances["reserve_price_tolerance"]
    n = shape.min_guest_paths
    while True:
        p = pass_probability(claim, path_sd, shape.claim_paths, n, tol)
        if p >= shape.pass_probability:
            return n, p
        if n >= shape.max_guest_paths:
            raise VaultPricingError(
                "simulate-price-verify-position-floating",
                "num_paths",
                f"even {shape.max_guest_paths} paths pass the 5 % check with probability only {p:.3f}",
            )
        n = min(shape.max_guest_paths, n + 1000 * max(1, n // 4000))


# ---------------------------------------------------------------- the round


@dataclass(frozen=True)
class VaultRound:
    """A round priced by the programs' rules, with every intermediate the programs read."""

    shape: VaultShape
    values: np.ndarray  # total_hours values (the hashed series, as f64)
    start_timestamp: int  # pricing window (reserve price and TWAP)
    end_timestamp: int
    twap: float
    max_return: float
    twap_7d: np.ndarray
    slope: float
    intercept: float
    season_params: np.ndarray
    residuals: np.ndarray
    params: np.ndarray
    gradient: np.ndarray
    reserve_price: float
    path_sd: float
    num_paths: int
    pass_probability: float
    seed: int

    @property
    def pricing_values(self) -> np.ndarray:
        return self.values[-self.shape.pricing_hours :]

    @property
    def pt(self) -> np.ndarray:
        return self.residuals[1:]

    @property
    def pt_1(self) -> np.ndarray:
        return self.residuals[:-1]

    @property
    def total_start_timestamp(self) -> int:
        return self.end_timestamp - self.shape.total_hours * HOUR

    def summary(self) -> dict:
        """What a job's result and status carry about the rules that priced it."""
        return {
            "rules": f"pitchlake-coprocessor:{self.shape.name}",
            "shape": self.shape.to_json(),
            "strike": repr(float(self.twap_7d[-1])),
            "params": dict(zip(PARAM_NAMES, (float(v) for v in self.params), strict=True)),
            "gradient": [float(v) for v in self.gradient],
            "claim_paths": self.shape.claim_paths,
            "num_paths": self.num_paths,
            "pass_probability": round(self.pass_probability, 6),
            "seed": self.seed,
            "path_sd": self.path_sd,
        }


def price_round(values, *, end_timestamp: int, shape: VaultShape = POC_SHAPE, seed: int) -> VaultRound:
    """Price one round by the programs' rules; raises ``VaultPricingError`` naming the program that would refuse it."""
    x = as_series(values, name="round series")
    if len(x) != shape.total_hours:
        raise VaultPricingError("hashing-felts", "inputs", f"needs {shape.total_hours} hourly values, got {len(x)}")
    end = int(end_timestamp)
    start = end - shape.pricing_hours * HOUR
    window = x[-shape.pricing_hours :]
    fit = remove_trend_and_seasonality(window)  # no timestamps: t = index, as the programs
    residuals = np.asarray(fit.residuals, dtype=np.float64)
    pt, pt_1 = residuals[1:], residuals[:-1]
    mrj = fit_mrj(pt, pt_1, gradient_tolerance=shape.tolerances["gradient_tolerance"])
    problem = simulation_domain_problem(mrj.params)
    if problem:
        raise VaultPricingError("simulate-price-verify-position-floating", "positions", problem)
    if not bool(np.all(mrj.free)):
        held = [n for n, free in zip(PARAM_NAMES, mrj.free, strict=True) if not free]
        raise VaultPricingError(
            "simulate-price-verify-position-floating",
            "positions",
            f"the likelihood's maximum lies on a bound ({', '.join(held)}); the program's two-sided test rejects it",
        )
    gradient = program_gradient(mrj.params, pt, pt_1)
    limit = shape.tolerances["gradient_tolerance"] - shape.gradient_margin
    if not (np.all(np.isfinite(gradient)) and float(np.max(np.abs(gradient))) <= limit):
        raise VaultPricingError(
            "simulate-price-verify-position-floating",
            "positions",
            f"gradient {np.round(gradient, 5).tolist()} is not within {limit} in every component",
        )
    twap_7d = round_twap_7d(window, shape)
    model = round_model(
        residuals=residuals,
        params=mrj.params,
        season_params=fit.season_params,
        twap_7d=twap_7d,
        slope=fit.slope,
        intercept=fit.intercept,
        data_length=shape.pricing_hours,
        start_timestamp=start,
        end_timestamp=end,
        shape=shape,
    )
    payoffs = simulate_round_payoffs(model, shape.claim_paths, np.random.default_rng(seed))
    claim = float(np.mean(payoffs))
    path_sd = float(np.std(payoffs, ddof=1))
    num_paths, probability = guest_paths_for(claim, path_sd, shape)
    return VaultRound(
        shape=shape,
        values=x,
        start_timestamp=start,
        end_timestamp=end,
        twap=twap(window),
        max_return=round_max_return(x, shape),
        twap_7d=twap_7d,
        slope=float(fit.slope),
        intercept=float(fit.intercept),
        season_params=np.asarray(fit.season_params, dtype=np.float64),
        residuals=residuals,
        params=np.asarray(mrj.params, dtype=np.float64),
        gradient=gradient,
        reserve_price=claim,
        path_sd=path_sd,
        num_paths=num_paths,
        pass_probability=probability,
        seed=int(seed),
    )
