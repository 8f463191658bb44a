"""Strict request fields shared by both services' APIs."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

STARK_PRIME = 2**251 + 17 * 2**192 + 1
# Matched with fullmatch: "^…$" would let "0x…\n" through ("$" matches before a final newline).
_FELT_HEX = re.compile(r"0x[0-9a-fA-F]{1,64}")


@extend_schema_field({"type": "integer"})
class StrictIntegerField(serializers.Field):
    """A JSON integer: no strings, floats or booleans."""

    default_error_messages = {
        "invalid": "must be an integer",
        "min_value": "must be at least {min_value}",
        "max_value": "must be at most {max_value}",
    }

    def __init__(self, *, min_value: int | None = None, max_value: int | None = None, **kwargs):
        self.min_value = min_value
        self.max_value = max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if self.min_value is not None and data < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if self.max_value is not None and data > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(
    {"type": "string", "pattern": "^0x[0-9a-fA-F]{1,64}$", "description": "felt, below the Stark prime"}
)
class FeltHexField(serializers.Field):
    """A Starknet felt as 0x-prefixed hex, below the Stark prime.

    Stored in one canonical form, lower-case without leading zeros ("0x00A" -> "0xa",
    "0x000" -> "0x0"), so equal values hash to the same job id (docs/security.md)."""

    default_error_messages = {
        "invalid": "must be a 0x-prefixed hex string of at most 64 digits",
        "too_large": "must be below the Stark prime",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _FELT_HEX.fullmatch(data):
            self.fail("invalid")
        value = int(data, 16)
        if value >= STARK_PRIME:
            self.fail("too_large")
        return hex(value)

    def to_representation(self, value):
        return value


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, naming them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({unknown[0]: ["unknown field"]})
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 0},
        "minItems": 2,
        "maxItems": 2,
        "description": "[start, end] unix seconds, start < end",
    }
)
class TimeRangeField(serializers.Field):
    """[start, end] in unix seconds, integers, start < end, no longer than max_seconds."""

    def __init__(self, *, max_seconds: int, **kwargs):
        self.max_seconds = max_seconds
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, list) or len(data) != 2:
            raise serializers.ValidationError("must be a list [start, end]")
        start, end = data
        for value in (start, end):
            if isinstance(value, bool) or not isinstance(value, int):
                raise serializers.ValidationError("start and end must be integers (unix seconds)")
            if value < 0 or value >= 2**40:
                raise serializers.ValidationError("start and end must be unix seconds")
        if start >= end:
            raise serializers.ValidationError("start must be before end")
        if end - start > self.max_seconds:
            raise serializers.ValidationError(f"range is longer than the maximum of {self.max_seconds} seconds")
        return [start, end]

    def to_representation(self, value):
        return list(value)


def validate_min_range(value: list[int], minimum_seconds: int) -> list[int]:
    """A validated [start, end] that is at least ``minimum_seconds`` long (a metric's shortest priceable range)."""
    start, end = value
    if end - start < minimum_seconds:
        raise serializers.ValidationError(
            f"range is shorter than the minimum of {minimum_seconds} seconds this metric can be computed on"
        )
    return value
