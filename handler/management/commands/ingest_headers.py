"""Ingest verified block headers from a JSON-RPC node or a JSON file.

    manage.py ingest_headers --rpc-url URL --from N [--to M]
    manage.py ingest_headers --from-file blocks.json

Only blocks of the range that are not stored yet are fetched: after the stored tip, and
gaps below it (a backfill). Every header's hash is recomputed (keccak-256 of its RLP) and every parent link checked
before storing; a mismatch stores nothing from its batch and exits with status 2. Blocks of
the range still missing afterwards exit with status 1: nothing is reported done that was not.
"""

from __future__ import annotations

import argparse
import logging

from django.conf import settings
from django.core.management.base import CommandError

from handler.chain.cli import ChainCommand, bad_argument
from handler.chain.header import HeaderMismatch
from handler.chain.ingest import IngestError, IngestIncomplete, ingest_file, ingest_range
from handler.chain.rpc import RpcClient, RpcError

log = logging.getLogger("handler.chain.ingest")


def _block_number(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a block number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _positive(text: str) -> int:
    value = _block_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class Command(ChainCommand):
    help = "Ingest and verify block headers (JSON-RPC eth_getBlockByNumber, or a JSON file)."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--rpc-url", help="JSON-RPC endpoint (http/https)")
        source.add_argument(
            "--from-file", metavar="FILE", help='JSON file of block objects: a list, or {"blocks": [...]}'
        )
        parser.add_argument("--from", dest="start", type=_block_number, help="first block (with --rpc-url)")
        parser.add_argument(
            "--to", dest="end", type=_block_number, help="last block, inclusive (default: the node's latest)"
        )
        parser.add_argument("--batch-size", type=_positive, default=500, help="blocks per verified batch")
        parser.add_argument("--rpc-batch-size", type=_positive, default=100, help="calls per JSON-RPC batch request")
        parser.add_argument("--retries", type=_block_number, default=None, help="retries per request")
        parser.add_argument("--timeout", type=float, default=None, help="read timeout in seconds")
        parser.add_argument(
            "--no-resume", action="store_true", help="fetch the whole range again, even blocks already stored"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        progress = not options["no_progress"]
        try:
            if options["from_file"]:
                if options["start"] is not None or options["end"] is not None:
                    raise bad_argument("--from/--to go with --rpc-url, not --from-file")
                stats = ingest_file(options["from_file"], batch_size=options["batch_size"], progress=progress)
            else:
                url = options["rpc_url"]
                if not url.startswith(("http://", "https://")):
                    raise bad_argument(f"--rpc-url {url!r} is not an http(s) URL")
                if options["start"] is None:
                    raise bad_argument("--from is required with --rpc-url")
                client = RpcClient(
                    url,
                    timeout=(
                        getattr(settings, "HTTP_CONNECT_TIMEOUT", 3.05),
                        options["timeout"] or getattr(settings, "HTTP_READ_TIMEOUT", 30.0),
                    ),
                    max_retries=options["retries"]
                    if options["retries"] is not None
                    else getattr(settings, "HTTP_MAX_RETRIES", 5),
                    max_batch=options["rpc_batch_size"],
                )
                try:
                    end = options["end"] if options["end"] is not None else client.block_number()
                    if end < options["start"]:
                        raise bad_argument(f"--to {end} is below --from {options['start']}")
                    stats = ingest_range(
                        client,
                        options["start"],
                        end,
                        batch_size=options["batch_size"],
                        resume=not options["no_resume"],
                        progress=progress,
                    )
                finally:
                    client.close()
        except HeaderMismatch as exc:
            raise bad_argument(f"verification failed, batch rejected: {exc}") from None
        except IngestIncomplete as exc:
            raise CommandError(f"incomplete: {exc}", returncode=1) from None
        except IngestError as exc:
            raise bad_argument(str(exc)) from None
        except RpcError as exc:
            raise CommandError(f"JSON-RPC failed: {exc}", returncode=1) from None
        self.stdout.write(
            f"stored {stats.stored}, already present {stats.skipped}, replaced {stats.replaced} "
            f"in {len(stats.reorgs)} reorg(s); tip {stats.tip}"
        )
