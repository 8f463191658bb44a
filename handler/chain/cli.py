"""Shared pieces of the chain management commands (the exit convention is fossil.commands')."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import CommandError

from fossil.commands import BAD_ARGUMENT, FossilCommand

ChainCommand = FossilCommand


def parse_time(value: str) -> int:
    """Unix seconds from an integer string or an ISO-8601 date/time (UTC if naive)."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is neither unix seconds nor an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def bad_argument(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_ARGUMENT)
