"""UFixedPoint123x128 felts and their float conversions (docs/pricing.md).

A felt packs ``(integer_part << 128) | floor(fraction * 2**128)``. Both
directions follow the reference bit for bit:

* felt -> float: ``float(high128) + float(low128) / 2**128`` (two roundings,
  exactly as the coprocessor does, not a single correctly rounded division);
* float -> felt: truncate the integer part and the scaled fraction; negative
  values saturate to 0 like Rust's ``as u128`` casts; an integer part of
  2**123 or more does not fit and is rejected.
"""

from __future__ import annotations

import math

from .errors import InvalidParameters

TWO_128 = 1 << 128
MAX_INTEGER_PART = 1 << 123
_FRACTION_SCALE = float(TWO_128)  # exact power of two


def felt_to_float(felt: int) -> float:
    felt = int(felt)
    if felt < 0 or felt >= 1 << 256:
        raise InvalidParameters(f"felt out of 256-bit range: {felt:#x}")
    high, low = felt >> 128, felt & (TWO_128 - 1)
    return float(high) + float(low) / _FRACTION_SCALE


def float_to_felt(x: float) -> int:
    x = float(x)
    if math.isnan(x):
        raise InvalidParameters("cannot encode NaN as a fixed-point felt")
    if x <= 0.0:
        return 0  # saturating casts in the reference
    if math.isinf(x) or x >= MAX_INTEGER_PART:
        raise InvalidParameters(f"{x!r} does not fit UFixedPoint123x128 (integer part must be < 2**123)")
    integer = math.trunc(x)
    # x - trunc(x) is exact in binary floating point, and scaling by 2**128 is exact.
    fraction = math.trunc((x - integer) * _FRACTION_SCALE)
    return (integer << 128) | fraction


def format_felt(felt: int) -> str:
    """An already-encoded felt as ``0x`` + 64 lowercase hex digits."""
    felt = int(felt)
    if felt < 0 or felt >= 1 << 256:
        raise InvalidParameters(f"felt out of 256-bit range: {felt}")
    return f"0x{felt:064x}"


def felt_hex(x: float | int) -> str:
    """The 66-character fixed-point hex of the *value* ``x`` (journal format).

    Integers are values too (``felt_hex(5) == felt_hex(5.0)``); to render a felt
    you already have, use ``format_felt``.
    """
    if isinstance(x, int) and not isinstance(x, bool):
        if x <= 0:
            return format_felt(0)
        if x >= MAX_INTEGER_PART:
            raise InvalidParameters(f"{x} does not fit UFixedPoint123x128")
        return format_felt(x << 128)
    return format_felt(float_to_felt(x))


def parse_felt(text: str) -> int:
    """A ``0x`` hex felt string (any case, any length up to 64 digits)."""
    t = text.strip()
    if not t.lower().startswith("0x") or len(t) <= 2:
        raise InvalidParameters(f"not a 0x hex felt: {text!r}")
    try:
        value = int(t[2:], 16)
    except ValueError:
        raise InvalidParameters(f"not a 0x hex felt: {text!r}") from None
    if value >= 1 << 256:
        raise InvalidParameters(f"felt wider than 256 bits: {text!r}")
    return value
