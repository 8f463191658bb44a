"""Fossil pricing engine: pure numpy/scipy, no Django.

``handler.compute`` (run by the proving workers) and the ``price`` management command call these;
``docs/pricing.md`` describes the model and where it comes from.
"""

from .commitment import BATCH_SIZE, data_commitment
from .errors import InsufficientData, InvalidParameters, InvalidSeries, MissingBucket, PricingError
from .felts import felt_hex, felt_to_float, float_to_felt, format_felt, parse_felt
from .max_return import MaxReturnResult, max_return
from .mrj import fit_mrj, neg_log_likelihood, reference_gradient
from .reserve_price import ReservePriceResult, remove_trend_and_seasonality, reserve_price
from .series import BucketSeries, bucket_seconds_for, bucketize, check_contiguous, expected_bucket_starts
from .twap import trailing_mean, twap
from .verify import VerificationResult, verify_claims, verify_reserve_price, verify_result, verify_twap
from .volatility import cap_level, cap_level_bps, volatility

__all__ = [
    "BATCH_SIZE",
    "BucketSeries",
    "InsufficientData",
    "InvalidParameters",
    "InvalidSeries",
    "MaxReturnResult",
    "MissingBucket",
    "PricingError",
    "ReservePriceResult",
    "bucket_seconds_for",
    "bucketize",
    "cap_level",
    "cap_level_bps",
    "check_contiguous",
    "data_commitment",
    "expected_bucket_starts",
    "felt_hex",
    "felt_to_float",
    "fit_mrj",
    "float_to_felt",
    "format_felt",
    "max_return",
    "neg_log_likelihood",
    "parse_felt",
    "reference_gradient",
    "remove_trend_and_seasonality",
    "reserve_price",
    "trailing_mean",
    "twap",
    "volatility",
    "VerificationResult",
    "verify_claims",
    "verify_reserve_price",
    "verify_result",
    "verify_twap",
]
