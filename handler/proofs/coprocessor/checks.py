"""The coprocessor's programs, transcribed: what each one checks on its input and what it commits.

``run_program(name, input_bytes, shape, ...)`` decodes the input as the program reads it, runs the
program's checks (raising ``ProgramCheckFailed`` naming the program and the field where it would
panic) and returns the journal it would commit. Two users:

* ``precheck_round``: before any proving session is created, every program runs on the round's
  inputs; the simulate program's random re-pricing is replaced by its pass probability (the
  claim's, from a large draw of the program's own process), which must reach the shape's target;
* the Bento-compatible test server, which executes the programs like a real prover would.

The comparisons follow the programs' own helpers: ``|target - calc| / |target| * 100`` (100 when
only the target is 0); vectors pass when no element is ``> tol`` (so a NaN element passes, as it
does there), scalars when the difference is ``< tol``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from handler.pricing.commitment import data_commitment
from handler.pricing.simulate import seasonal_basis
from handler.pricing.twap import trailing_mean, window_sums
from handler.pricing.vault import (
    VaultPricingError,
    VaultShape,
    program_gradient,
    round_model,
    simulate_round_payoffs,
    values_from_felts,
)

from ..errors import JournalDecodeError, ProgramCheckFailed
from .guests import (
    AddTwap7dErrorBoundFloatingInput,
    CalculatePtPt1ErrorBoundFloatingInput,
    HashingFeltInput,
    HashingFeltOutput,
    MaxReturnInput,
    MaxReturnJournal,
    ProofCompositionInput,
    RemoveSeasonalityErrorBoundFloatingInput,
    SimulatePriceVerifyPositionInput,
    TwapErrorBoundInput,
)
from .inputs import (
    COMPOSITION,
    HASHING,
    MAX_RETURN,
    PT_PT1,
    SEASONALITY,
    SIMULATE,
    SUB_PROGRAMS,
    TWAP,
    TWAP_7D,
    RoundInputs,
    composition_expectations,
)


def _pct(target: float, calc: float) -> float:
    if target != 0.0:
        return abs(target - calc) / abs(target) * 100.0
    return 100.0 if calc != 0.0 else 0.0


def _scalar_ok(target: float, calc: float, tol: float) -> bool:
    return _pct(float(target), float(calc)) < tol


def _first_vector_miss(target, calc, tol: float) -> str | None:
    t, c = list(target), list(calc)
    if len(t) != len(c):
        return f"{len(t)} values where the program computes {len(c)}"
    for i, (a, b) in enumerate(zip(t, c, strict=True)):
        if _pct(float(a), float(b)) > tol:
            return (
                f"element {i}: {a!r} differs from the program's {b!r} by {_pct(float(a), float(b)):.3g} % (> {tol} %)"
            )
    return None


def _require(ok: bool, program: str, field: str, message: str) -> None:
    if not ok:
        raise ProgramCheckFailed(program, field, message)


def _decode(cls, data: bytes, program: str):
    try:
        return cls.decode(data)
    except (JournalDecodeError, ValueError) as exc:
        raise ProgramCheckFailed(program, "input", f"does not decode: {exc}") from exc


# ---------------------------------------------------------------- the seven sub-programs


def hashing_felts(data: bytes, shape: VaultShape) -> bytes:
    inp = _decode(HashingFeltInput, data, HASHING)
    _require(
        len(inp.inputs) == shape.total_hours,
        HASHING,
        "inputs",
        f"expects {shape.total_hours} hourly felts, got {len(inp.inputs)}",
    )
    values = values_from_felts(inp.inputs)
    return HashingFeltOutput(tuple(data_commitment(inp.inputs)), tuple(float(v) for v in values)).encode()


def max_return_floating(data: bytes, shape: VaultShape) -> bytes:
    inp = _decode(MaxReturnInput, data, MAX_RETURN)
    x = np.asarray(inp.data, dtype=np.float64)
    _require(len(x) == shape.total_hours, MAX_RETURN, "data", f"expects {shape.total_hours} values, got {len(x)}")
    w = 240 if len(x) <= 2000 else 720
    means = window_sums(x, w, len(x) - w) / w
    p = 240 if len(means) <= 1500 else 720
    _require(len(means) > p, MAX_RETURN, "data", f"needs more than {p} window means")
    with np.errstate(all="ignore"):
        returns = means[p:] / means[:-p] - 1.0
    _require(not np.any(np.isnan(returns)), MAX_RETURN, "data", "a return is NaN (the program's max panics)")
    return MaxReturnJournal(inp.data, float(np.max(returns))).encode()


def twap_error_bound(data: bytes, shape: VaultShape) -> bytes:
    inp = _decode(TwapErrorBoundInput, data, TWAP)
    x = np.asarray(inp.avg_hourly_gas_fee, dtype=np.float64)
    guest_twap = float(np.add.accumulate(x)[-1]) / len(x) if len(x) else math.nan
    _require(
        _scalar_ok(guest_twap, inp.twap_result, inp.twap_tolerance),
        TWAP,
        "twap_result",
        f"{inp.twap_result!r} is not within {inp.twap_tolerance} % of the program's {guest_twap!r}",
    )
    return data


def _ols_normal_equations(y: np.ndarray) -> tuple[float, float]:
    """``(XᵀX)⁻¹Xᵀy`` with ``X = [1, i]``, as the program solves it."""
    n = len(y)
    x = np.column_stack([np.ones(n), np.arange(n, dtype=np.float64)])
    solution = np.linalg.inv(x.T @ x) @ x.T @ y
    return float(solution[1]), float(solution[0])


def remove_seasonality_error_bound(data: bytes, shape: VaultShape) -> bytes:
    inp = _decode(RemoveSeasonalityErrorBoundFloatingInput, data, SEASONALITY)
    x = np.asarray(inp.data, dtype=np.float64)
    _require(bool(np.all(x > 0)), SEASONALITY, "data", "a value is not positive (its log is not finite)")
    y = np.log(x)
    slope, intercept = _ols_normal_equations(y)
    detrended = y - (slope * np.arange(len(y), dtype=np.float64) + intercept)
    design = _season_design(len(x))
    season, *_ = np.linalg.lstsq(design, detrended, rcond=None)
    residuals = detrended - design @ season
    tol = inp.tolerance
    for name, claimed, computed in (
        ("de_seasonalised_detrended_log_base_fee", inp.de_seasonalised_detrended_log_base_fee, residuals),
        ("season_param", inp.season_param, season),
    ):
        miss = _first_vector_miss(claimed, computed, tol)
        _require(miss is None, SEASONALITY, name, miss or "")
    _require(_scalar_ok(inp.slope, slope, tol), SEASONALITY, "slope", f"{inp.slope!r} against the program's {slope!r}")
    _require(
        _scalar_ok(inp.intercept, intercept, tol),
        SEASONALITY,
        "intercept",
        f"{inp.intercept!r} against the program's {intercept!r}",
    )
    return data


def _season_design(n: int) -> np.ndarray:
    """The 12 harmonics of 24 and 168 hours on t = index, which the program fits by least squares."""
    return seasonal_basis(np.arange(n, dtype=np.float64))


def add_twap_7d_error_bound(data: bytes, shape: VaultShape) -> bytes:
    inp = _decode(AddTwap7dErrorBoundFloatingInput, data, TWAP_7D)
    _require(len(inp.data) >= 168, TWAP_7D, "data", f"needs at least 168 values, got {len(inp.data)}")
    computed = trailing_mean(np.asarray(inp.data, dtype=np.float64), 168)
    miss = _first_vector_miss(inp.twap_7d, computed, inp.tolerance)
    _require(miss is None, TWAP_7D, "twap_7d", miss or "")
    return data


def pt_pt1_error_bound(data: bytes, shape: VaultShape) -> bytes:
    inp = _decode(CalculatePtPt1ErrorBoundFloatingInput, data, PT_PT1)
    e = inp.de_seasonalised_detrended_log_base_fee
    _require(len(e) >= 2, PT_PT1, "de_seasonalised_detrended_log_base_fee", "needs at least 2 values")
    for name, computed, claimed in (("pt", e[1:], inp.pt), ("pt_1", e[:-1], inp.pt_1)):
        miss = _first_vector_miss(computed, claimed, inp.tolerance)
        _require(miss is None, PT_PT1, name, miss or "")
    return data


def _simulate_model(inp: SimulatePriceVerifyPositionInput, shape: VaultShape):
    _require(len(inp.positions) == 6, SIMULATE, "positions", f"expects 6 parameters, got {len(inp.positions)}")
    pt, pt_1 = np.asarray(inp.pt, dtype=np.float64), np.asarray(inp.pt_1, dtype=np.float64)
    gradient = program_gradient(inp.positions, pt, pt_1)
    _require(bool(np.all(np.isfinite(gradient))), SIMULATE, "positions", "a gradient component is not finite")
    worst = float(np.max(np.abs(gradient)))
    _require(
        worst <= inp.gradient_tolerance,
        SIMULATE,
        "positions",
        f"gradient component {worst:.4g} exceeds gradient_tolerance {inp.gradient_tolerance}",
    )
    a, phi, mu_j, s2, sj2, lam = inp.positions
    _require(0.0 <= lam <= 1.0, SIMULATE, "positions", f"lambda {lam!r} is not a probability")
    _require(s2 >= 0.0 and sj2 >= 0.0, SIMULATE, "positions", "a variance is negative")
    _require(inp.n_periods > 0 and inp.num_paths > 0, SIMULATE, "num_paths", "n_periods and num_paths must be > 0")
    _require(len(inp.twap_7d) >= 2, SIMULATE, "twap_7d", "needs at least 2 values")
    program_shape = VaultShape(
        name=shape.name,
        total_hours=max(shape.total_hours, inp.data_length),
        pricing_hours=inp.data_length,
        n_periods=inp.n_periods,
        payoff_rows=min(168, inp.n_periods),
        tolerances=shape.tolerances,
        twap_7d_window=min(shape.twap_7d_window, inp.data_length),
    )
    try:
        return round_model(
            residuals=inp.de_seasonalised_detrended_log_base_fee,
            params=inp.positions,
            season_params=inp.season_param,
            twap_7d=inp.twap_7d,
            slope=inp.slope,
            intercept=inp.intercept,
            data_length=inp.data_length,
            start_timestamp=inp.start_timestamp,
            end_timestamp=inp.end_timestamp,
            shape=program_shape,
        )
    except VaultPricingError as exc:
        raise ProgramCheckFailed(SIMULATE, exc.field, str(exc)) from exc


def simulate_price_verify_position(data: bytes, shape: VaultShape, *, rng: np.random.Generator | None = None) -> bytes:
    """The program itself: the gradient test, then one re-pricing with ``num_paths`` draws of ``rng``
    (the prover's randomness; by default seeded from the input, so a run is repeatable)."""
    inp = _decode(SimulatePriceVerifyPositionInput, data, SIMULATE)
    model = _simulate_model(inp, shape)
    if rng is None:
        rng = np.random.default_rng(int.from_bytes(hashlib.sha256(data).digest()[:8], "big"))
    guest_price = float(np.mean(simulate_round_payoffs(model, inp.num_paths, rng)))
    _require(
        _scalar_ok(guest_price, inp.reserve_price, inp.tolerance),
        SIMULATE,
        "reserve_price",
        f"{inp.reserve_price!r} is not within {inp.tolerance} % of the program's re-pricing {guest_price!r}",
    )
    return data


def simulate_pass_probability(data: bytes, shape: VaultShape, *, sample_paths: int | None = None) -> float:
    """The probability that the simulate program accepts this input's reserve price, from a large
    draw of its own process (``shape.claim_paths`` paths, seeded from the input)."""
    inp = _decode(SimulatePriceVerifyPositionInput, data, SIMULATE)
    model = _simulate_model(inp, shape)
    n = int(sample_paths or shape.claim_paths)
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(b"precheck" + data).digest()[:8], "big"))
    payoffs = simulate_round_payoffs(model, n, rng)
    mean, sd = float(np.mean(payoffs)), float(np.std(payoffs, ddof=1))
    # the program's draw is centred on the process mean, estimated here from n paths
    return _claim_pass_probability(inp.reserve_price, mean, sd, n, inp.num_paths, inp.tolerance)


def _claim_pass_probability(claim: float, mean: float, sd: float, n: int, num_paths: int, tol_pct: float) -> float:
    if mean <= 0.0 and claim <= 0.0:
        return 1.0
    if claim <= 0.0:
        return 0.0
    tol = tol_pct / 100.0
    spread = sd * math.sqrt(1.0 / num_paths + 1.0 / n)
    if spread == 0.0:
        return 1.0 if abs(mean - claim) < tol * mean else 0.0
    # accept iff claim / (1 + tol) < g < claim / (1 - tol), g ~ N(mean, spread)
    hi, lo = claim / (1.0 - tol), claim / (1.0 + tol)
    return float(norm.cdf((hi - mean) / spread) - norm.cdf((lo - mean) / spread))


PROGRAM_RUNNERS = {
    HASHING: hashing_felts,
    MAX_RETURN: max_return_floating,
    TWAP: twap_error_bound,
    SEASONALITY: remove_seasonality_error_bound,
    TWAP_7D: add_twap_7d_error_bound,
    PT_PT1: pt_pt1_error_bound,
    SIMULATE: simulate_price_verify_position,
}


# ---------------------------------------------------------------- the composition program


def proof_composition(data: bytes, shape: VaultShape) -> bytes:
    """The journal the composition program commits for this input (its receipts aside)."""
    inp = _decode(ProofCompositionInput, data, COMPOSITION)
    return composition_expectations(inp, shape).journal.encode()


def composition_with_assumptions(
    data: bytes, shape: VaultShape, image_ids: dict[str, bytes], assumptions: Iterable[tuple[bytes, bytes]]
) -> bytes:
    """``env::verify`` of each of the seven sub-programs, then the committed journal."""
    inp = _decode(ProofCompositionInput, data, COMPOSITION)
    expected = composition_expectations(inp, shape)
    held = set(assumptions)
    for program, journal in expected.journals().items():
        _require(
            (image_ids[program], journal) in held,
            COMPOSITION,
            program,
            "no assumption receipt of this program commits the journal the composition rebuilds",
        )
    return expected.journal.encode()


def run_program(name: str, data: bytes, shape: VaultShape, *, rng: np.random.Generator | None = None) -> bytes:
    """A sub-program run as a prover would run it: its checks, then its journal."""
    if name == SIMULATE:
        return simulate_price_verify_position(data, shape, rng=rng)
    if name not in PROGRAM_RUNNERS:
        raise ValueError(f"unknown program {name!r}")
    return PROGRAM_RUNNERS[name](data, shape)


# ---------------------------------------------------------------- before any session


@dataclass(frozen=True)
class CheckResult:
    program: str
    ok: bool
    field: str | None = None
    detail: str = ""

    def to_json(self) -> dict:
        return {"program": self.program, "ok": self.ok, "field": self.field, "detail": self.detail}


def precheck_round(inputs: RoundInputs, shape: VaultShape) -> list[CheckResult]:
    """Every program's checks on the round's inputs, and that each sub-program's journal is the one
    the composition rebuilds. Never raises for a failed check: each result says which passed."""
    encoded = inputs.encoded()
    results: list[CheckResult] = []
    try:
        expected = composition_expectations(inputs.composition, shape).journals()
    except (ValueError, JournalDecodeError) as exc:
        return [CheckResult(COMPOSITION, False, "input", str(exc))]
    for program in SUB_PROGRAMS:
        try:
            if program == SIMULATE:
                journal = encoded[program]
                _decode(SimulatePriceVerifyPositionInput, journal, SIMULATE)
                probability = simulate_pass_probability(journal, shape)
                _require(
                    probability >= shape.precheck_probability,
                    SIMULATE,
                    "reserve_price",
                    f"the program accepts this claim with probability {probability:.4f} "
                    f"(< {shape.precheck_probability}) at num_paths={inputs.composition.num_paths}",
                )
                detail = f"pass probability {probability:.4f}"
            else:
                journal = PROGRAM_RUNNERS[program](encoded[program], shape)
                detail = ""
            _require(
                journal == expected[program],
                COMPOSITION,
                program,
                "the sub-program's journal is not the one the composition rebuilds from its input",
            )
            results.append(CheckResult(program, True, None, detail))
        except ProgramCheckFailed as exc:
            results.append(CheckResult(exc.program, False, exc.field, str(exc)))
    try:
        proof_composition(encoded[COMPOSITION], shape)
        results.append(CheckResult(COMPOSITION, True))
    except (ProgramCheckFailed, ValueError) as exc:
        results.append(CheckResult(COMPOSITION, False, getattr(exc, "field", "input"), str(exc)))
    return results


def first_failure(results: list[CheckResult]) -> ProgramCheckFailed | None:
    for r in results:
        if not r.ok:
            return ProgramCheckFailed(r.program, r.field or "input", r.detail.split(": ", 2)[-1])
    return None
