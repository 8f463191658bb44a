"""Shared behaviour of the chain management commands: a bad argument is one line on
stderr and exit status 2 (argparse's usage dump is left to --help)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser


class _OneLineParser(CommandParser):
    def error(self, message):
        if self.called_from_command_line:
            sys.stderr.write(f"{self.prog}: error: {message}\n")
            sys.exit(2)
        raise CommandError(f"Error: {message}", returncode=2)


class ChainCommand(BaseCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineParser
        return parser


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
    return CommandError(message, returncode=2)
