"""The eight inputs of a vault round, built once from the engine's intermediates.

``build_round_inputs`` turns a ``pricing.vault.VaultRound`` (and the felts it was read from)
into the structs the coprocessor's programs read. Every array two programs share is turned into
one tuple of Python floats and that same tuple goes into every struct, so the sub-programs'
journals and the ones the composition program rebuilds from its own input are the same bytes.

``composition_expectations`` is the composition program's side: from its input alone, the journal
it requires of each sub-program (``env::verify``) and the journal it commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from handler.pricing.commitment import data_commitment
from handler.pricing.vault import HOUR, VaultRound, VaultShape

from .guests import (
    AddTwap7dErrorBoundFloatingInput,
    CalculatePtPt1ErrorBoundFloatingInput,
    GuestStruct,
    HashingFeltInput,
    HashingFeltOutput,
    MaxReturnInput,
    MaxReturnJournal,
    ProofCompositionInput,
    RemoveSeasonalityErrorBoundFloatingInput,
    SimulatePriceVerifyPositionInput,
    TwapErrorBoundInput,
)
from .journals import CompositionJournal

HASHING = "hashing-felts"
MAX_RETURN = "max-return-floating"
TWAP = "twap-error-bound-floating"
SEASONALITY = "remove-seasonality-error-bound-floating"
TWAP_7D = "add-twap-7d-error-bound-floating"
PT_PT1 = "calculate-pt-pt1-error-bound-floating"
SIMULATE = "simulate-price-verify-position-floating"
COMPOSITION = "proof-composition-twap-maxreturn-reserveprice-floating-hashing"

#: the seven programs the composition verifies, in the order it verifies them
SUB_PROGRAMS = (HASHING, MAX_RETURN, TWAP, SEASONALITY, TWAP_7D, PT_PT1, SIMULATE)
PROGRAMS = (*SUB_PROGRAMS, COMPOSITION)


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class RoundInputs:
    """The input of each program, by program name (``PROGRAMS``), and the shape they were built for."""

    by_program: dict[str, GuestStruct]
    shape: VaultShape

    @property
    def composition(self) -> ProofCompositionInput:
        return self.by_program[COMPOSITION]  # type: ignore[return-value]

    def encoded(self) -> dict[str, bytes]:
        return {name: struct.encode() for name, struct in self.by_program.items()}


def build_round_inputs(vault_round: VaultRound, felts) -> RoundInputs:
    """The eight inputs; ``felts`` are the hourly felts whose f64 values ``vault_round`` priced."""
    shape = vault_round.shape
    felts = tuple(int(f) for f in felts)
    if len(felts) != shape.total_hours:
        raise ValueError(f"{len(felts)} felts for a {shape.total_hours}-hour round")
    commitment = tuple(data_commitment(felts))
    tol = shape.tolerances
    data = _floats(vault_round.values)
    residuals = _floats(vault_round.residuals)
    pt, pt_1 = residuals[1:], residuals[:-1]
    season = _floats(vault_round.season_params)
    twap_7d = _floats(vault_round.twap_7d)
    positions = _floats(vault_round.params)
    start, end = vault_round.start_timestamp, vault_round.end_timestamp
    total_start = end - shape.total_hours * HOUR
    slope, intercept = float(vault_round.slope), float(vault_round.intercept)
    reserve_price, twap, max_return = (
        float(vault_round.reserve_price),
        float(vault_round.twap),
        float(vault_round.max_return),
    )
    composition = ProofCompositionInput(
        data_8_months=data,
        data_8_months_hash=commitment,
        data_8_months_start_timestamp=total_start,
        data_8_months_end_timestamp=end,
        start_timestamp=start,
        end_timestamp=end,
        twap_start_timestamp=start,
        twap_end_timestamp=end,
        reserve_price_start_timestamp=start,
        reserve_price_end_timestamp=end,
        max_return_start_timestamp=total_start,
        max_return_end_timestamp=end,
        positions=positions,
        pt=pt,
        pt_1=pt_1,
        gradient_tolerance=float(tol["gradient_tolerance"]),
        de_seasonalised_detrended_log_base_fee=residuals,
        n_periods=shape.n_periods,
        num_paths=int(vault_round.num_paths),
        season_param=season,
        twap_7d=twap_7d,
        slope=slope,
        intercept=intercept,
        reserve_price=reserve_price,
        floating_point_tolerance=float(tol["floating_point_tolerance"]),
        reserve_price_tolerance=float(tol["reserve_price_tolerance"]),
        twap_tolerance=float(tol["twap_tolerance"]),
        twap_result=twap,
        max_return=max_return,
    )
    expected = composition_expectations(composition, shape)
    by_program: dict[str, GuestStruct] = {
        HASHING: HashingFeltInput(felts),
        MAX_RETURN: MaxReturnInput(data),
        TWAP: expected.structs[TWAP],
        SEASONALITY: expected.structs[SEASONALITY],
        TWAP_7D: expected.structs[TWAP_7D],
        PT_PT1: expected.structs[PT_PT1],
        SIMULATE: expected.structs[SIMULATE],
        COMPOSITION: composition,
    }
    return RoundInputs(by_program, shape)


@dataclass(frozen=True)
class CompositionExpectations:
    """What the composition program requires of each sub-program and what it commits."""

    structs: dict[str, GuestStruct]  # the journal each sub-program must have committed, as its struct
    journal: CompositionJournal

    def journals(self) -> dict[str, bytes]:
        return {name: struct.encode() for name, struct in self.structs.items()}


def composition_expectations(data: ProofCompositionInput, shape: VaultShape) -> CompositionExpectations:
    """The composition program, step by step: the seven journals it rebuilds and the one it commits."""
    window = data.data_8_months[max(0, len(data.data_8_months) - shape.pricing_hours) :]
    structs: dict[str, GuestStruct] = {
        HASHING: HashingFeltOutput(data.data_8_months_hash, data.data_8_months),
        MAX_RETURN: MaxReturnJournal(data.data_8_months, data.max_return),
        TWAP: TwapErrorBoundInput(window, data.twap_tolerance, data.twap_result),
        SEASONALITY: RemoveSeasonalityErrorBoundFloatingInput(
            window,
            data.slope,
            data.intercept,
            data.de_seasonalised_detrended_log_base_fee,
            data.season_param,
            data.floating_point_tolerance,
        ),
        TWAP_7D: AddTwap7dErrorBoundFloatingInput(window, data.twap_7d, data.floating_point_tolerance),
        PT_PT1: CalculatePtPt1ErrorBoundFloatingInput(
            data.de_seasonalised_detrended_log_base_fee, data.pt, data.pt_1, data.floating_point_tolerance
        ),
        SIMULATE: SimulatePriceVerifyPositionInput(
            start_timestamp=data.start_timestamp,
            end_timestamp=data.end_timestamp,
            positions=data.positions,
            pt=data.pt,
            pt_1=data.pt_1,
            gradient_tolerance=data.gradient_tolerance,
            de_seasonalised_detrended_log_base_fee=data.de_seasonalised_detrended_log_base_fee,
            n_periods=data.n_periods,
            num_paths=data.num_paths,
            season_param=data.season_param,
            twap_7d=data.twap_7d,
            slope=data.slope,
            intercept=data.intercept,
            reserve_price=data.reserve_price,
            tolerance=data.reserve_price_tolerance,
            data_length=len(window),
        ),
    }
    journal = CompositionJournal.build(
        data_commitment=data.data_8_months_hash,
        start_timestamp=data.start_timestamp,
        end_timestamp=data.end_timestamp,
        reserve_price=(data.start_timestamp, data.end_timestamp, data.reserve_price),
        twap=(data.start_timestamp, data.end_timestamp, data.twap_result),
        max_return=(data.data_8_months_start_timestamp, data.data_8_months_end_timestamp, data.max_return),
        tolerances={
            "floating_point_tolerance": data.floating_point_tolerance,
            "reserve_price_tolerance": data.reserve_price_tolerance,
            "twap_tolerance": data.twap_tolerance,
            "gradient_tolerance": data.gradient_tolerance,
        },
    )
    return CompositionExpectations(structs, journal)
