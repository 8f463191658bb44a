"""Store the deterministic demo chain (see handler.chain.demo) unless it is there already.

manage.py seed_demo_chain [--start 2022-12-01T00:00Z] [--end 2023-01-02T00:00Z] [--seed N] [--force]
"""

from __future__ import annotations

import argparse
import time

from handler.chain import demo
from handler.chain.cli import ChainCommand, bad_argument, parse_time


def _time(text: str) -> int:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError("must be between 0 and 2**64 - 1")
    return value


class Command(ChainCommand):
    help = "Generate and store the synthetic, hash-verified demo chain (12 s blocks, EIP-1559 base fees)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--start",
            type=_time,
            default=demo.DEFAULT_START,
            help="first timestamp, unix seconds or ISO-8601 (default 2022-12-01T00:00Z)",
        )
        parser.add_argument(
            "--end", type=_time, default=demo.DEFAULT_END, help="end timestamp, exclusive (default 2023-01-02T00:00Z)"
        )
        parser.add_argument("--seed", type=_seed, default=demo.DEFAULT_SEED, help="RNG seed")
        parser.add_argument("--force", action="store_true", help="replace whatever the block table holds")

    def handle(self, *args, **options):
        try:
            demo.block_numbers(options["start"], options["end"])
        except ValueError as exc:
            raise bad_argument(str(exc)) from None
        began = time.monotonic()
        result = demo.seed_demo_chain(options["start"], options["end"], options["seed"], force=options["force"])
        self.stdout.write(f"{result.message} in {time.monotonic() - began:.1f}s")
