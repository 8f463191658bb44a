"""The one convention every management command of the project follows (docs/operations.md,
"Commands"):

- exit 0: done;
- exit 2: nothing was done because of what was asked: a usage error, an unknown name or id,
  unusable input, or a request the current state refuses (a job that already succeeded);
- exit 1: the command ran and the outcome is a failure (a replayed job did not succeed, a
  check or verification failed, a dependency did not answer).

Either failure is one line `<command>: <reason>` on stderr, never argparse's usage dump or a
``CommandError:`` prefix (``manage.py help <command>`` shows the usage).
"""

from __future__ import annotations

import sys
from typing import NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser, SystemCheckError

BAD_ARGUMENT = 2
FAILED = 1


def command_name(command: BaseCommand) -> str:
    return type(command).__module__.rsplit(".", 1)[-1]


class _OneLineParser(CommandParser):
    command = "manage.py"

    def error(self, message):
        if self.called_from_command_line:
            sys.stderr.write(f"{self.command}: {message}\n")
            sys.stderr.flush()
            sys.exit(BAD_ARGUMENT)
        raise CommandError(f"Error: {message}", returncode=BAD_ARGUMENT)


class FossilCommand(BaseCommand):
    """BaseCommand with the project's exit statuses and one-line messages."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineParser
        assert isinstance(parser, _OneLineParser)
        parser.command = command_name(self)
        return parser

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            from_command_line = getattr(self, "_called_from_command_line", False)
            if not from_command_line or options.get("traceback") or isinstance(exc, SystemCheckError):
                raise
            self.fail(str(exc), status=exc.returncode)
        except Exception as exc:
            # A service's refusal (ApplicationError): what was asked cannot be done. Looked up
            # in sys.modules, not imported: light commands (price) never load the web stack.
            errors = sys.modules.get("fossil.exceptions")
            if errors is None or not isinstance(exc, errors.ApplicationError):
                raise
            self.fail(exc.message)

    def fail(self, reason: str, status: int = BAD_ARGUMENT) -> NoReturn:
        """Ends the command: `<command>: <reason>` on stderr (one line) and the exit status."""
        one_line = " ".join(reason.split())
        sys.stderr.write(f"{command_name(self)}: {one_line}\n")
        sys.stderr.flush()
        raise SystemExit(status)
