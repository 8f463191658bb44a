"""Header ingestion: verify, link, resolve reorgs and store, one transaction per batch.

Every header is verified (keccak-256 of its RLP equals its hash) before anything is
written, and each block must name the stored (or in-batch) block before it as its
parent. A failure raises HeaderMismatch and nothing from that batch is stored.

When a segment's first block does not link to the stored block below it, the chain has
reorganised: with a `fetch` callable (the JSON-RPC source) the ingestor walks back on
the new chain until it meets a stored ancestor, then replaces the orphaned blocks.
Blocks already stored with the same hash are skipped, so re-runs are idempotent.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from handler.chain.header import HeaderMismatch, verify_header, verify_link
from handler.models import BlockHeader

log = logging.getLogger(__name__)

__all__ = [
    "IngestError",
    "IngestStats",
    "Ingestor",
    "ReorgEvent",
    "header_rows",
    "ingest_file",
    "ingest_range",
    "load_block_file",
    "stored_tip",
    "copy_headers",
]

FetchBlocks = Callable[[Sequence[int]], list[dict]]

TABLE = BlockHeader._meta.db_table
COLUMNS = [str(f.column) for f in BlockHeader._meta.concrete_fields]
FIELDS = [f.attname for f in BlockHeader._meta.concrete_fields]
# pg_advisory_xact_lock key: one ingester writes the chain at a time.
LOCK_KEY = 0x0F0551_1B10C


class IngestError(RuntimeError):
    """Ingestion cannot proceed (bad input file, reorg too deep, ...)."""


@dataclass
class ReorgEvent:
    fork_point: int  # number of the first replaced block
    replaced: int  # stored blocks removed (orphaned)
    old_hash: str
    new_hash: str


@dataclass
class IngestStats:
    stored: int = 0
    skipped: int = 0
    replaced: int = 0
    batches: int = 0
    reorgs: list[ReorgEvent] = field(default_factory=list)
    tip: int | None = None

    def merge(self, other: IngestStats) -> None:
        self.stored += other.stored
        self.skipped += other.skipped
        self.replaced += other.replaced
        self.batches += other.batches
        self.reorgs.extend(other.reorgs)
        if other.tip is not None:
            self.tip = other.tip if self.tip is None else max(self.tip, other.tip)


# --- storage ----------------------------------------------------------------------------
def header_rows(headers: Iterable[dict]) -> Iterator[str]:
    """COPY text-format lines for normalised headers (values are hex or digits only)."""
    for h in headers:
        yield "\t".join("\\N" if h[f] is None else str(h[f]) for f in FIELDS_BY_HEADER) + "\n"


# Model attname -> normalised header key (identical, apart from the primary key name).
FIELDS_BY_HEADER = [f for f in FIELDS]


def copy_headers(headers: Sequence[dict] | Iterable[str], *, lines: bool = False, chunk: int = 20000) -> None:
    """Bulk-insert headers with COPY on the default connection (in the caller's transaction)."""
    sql = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
    source: Iterable[str] = headers if lines else header_rows(headers)  # type: ignore[assignment,arg-type]
    with connection.cursor() as cursor:
        buf = io.StringIO()
        n = 0
        for line in source:
            buf.write(line)
            n += 1
            if n >= chunk:
                buf.seek(0)
                cursor.cursor.copy_expert(sql, buf)
                buf = io.StringIO()
                n = 0
        if n:
            buf.seek(0)
            cursor.cursor.copy_expert(sql, buf)


def copy_lines_pipelined(lines: Iterable[str], *, chunk: int = 4000) -> int:
    """COPY text lines on the default connection while they are still being produced:
    a thread feeds Postgres while the caller's generator runs (2 cores, 2 jobs)."""
    import queue
    import threading

    sql = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)

    class Reader:
        def __init__(self):
            self.buffer = b""
            self.done = False

        def read(self, size: int = -1) -> bytes:
            while not self.done and (size < 0 or len(self.buffer) < size):
                item = chunks.get()
                if item is None:
                    self.done = True
                else:
                    self.buffer += item
            if size < 0 or size >= len(self.buffer):
                out, self.buffer = self.buffer, b""
            else:
                out, self.buffer = self.buffer[:size], self.buffer[size:]
            return out

        readline = read

    errors: list[BaseException] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor

        def run():
            try:
                raw.copy_expert(sql, Reader(), size=1 << 20)
            except BaseException as exc:  # re-raised in the caller
                errors.append(exc)
                while chunks.get() is not None:  # drain so the producer never blocks
                    pass

        worker = threading.Thread(target=run, name="copy-headers", daemon=True)
        worker.start()
        count = 0
        batch: list[str] = []
        try:
            for line in lines:
                batch.append(line)
                if len(batch) >= chunk:
                    chunks.put("".join(batch).encode())
                    count += len(batch)
                    batch = []
            if batch:
                chunks.put("".join(batch).encode())
                count += len(batch)
        finally:
            chunks.put(None)
            worker.join()
        if errors:
            raise errors[0]
    return count


def stored_tip() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(number) FROM {TABLE}")
        return cursor.fetchone()[0]


def _stored_hashes(lo: int, hi: int) -> dict[int, tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT number, hash, parent_hash FROM {TABLE} WHERE number BETWEEN %s AND %s", [lo, hi])
        return {n: (h, p) for n, h, p in cursor.fetchall()}


# --- the ingestor -----------------------------------------------------------------------
class Ingestor:
    def __init__(self, fetch: FetchBlocks | None = None, *, max_reorg_depth: int = 1024, walk_step: int = 32):
        self.fetch = fetch
        self.max_reorg_depth = max_reorg_depth
        self.walk_step = walk_step

    def ingest_batch(self, raw_blocks: Sequence[Any]) -> IngestStats:
        """Verify and store one batch atomically. Raises HeaderMismatch (nothing stored)."""
        headers = self._verified(raw_blocks)
        stats = IngestStats(batches=1)
        if not headers:
            return stats
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            for segment in _segments(headers):
                stats.merge(self._store_segment(segment))
        stats.tip = stored_tip()
        return stats

    @staticmethod
    def _verified(raw_blocks: Sequence[Any]) -> list[dict]:
        by_number: dict[int, dict] = {}
        for raw in raw_blocks:
            header = verify_header(raw)
            seen = by_number.get(header["number"])
            if seen is not None and seen["hash"] != header["hash"]:
                raise HeaderMismatch(
                    header["number"],
                    "hash",
                    f"the input holds two different blocks {seen['hash']} and {header['hash']}",
                )
            by_number[header["number"]] = header
        headers = [by_number[n] for n in sorted(by_number)]
        for prev, cur in zip(headers, headers[1:]):
            if cur["number"] == prev["number"] + 1:
                verify_link(cur, prev["hash"], where="preceding block in the batch,")
        return headers

    def _store_segment(self, segment: list[dict]) -> IngestStats:
        stats = IngestStats()
        first, last = segment[0], segment[-1]
        stored = _stored_hashes(first["number"] - 1, last["number"] + 1)
        below = stored.get(first["number"] - 1)
        if below is not None and below[0] != first["parent_hash"]:
            segment = self._walk_back(segment) + segment
            first = segment[0]
            stored = _stored_hashes(first["number"] - 1, last["number"] + 1)
        elif below is None and first["number"] - 1 >= 0:
            tip_below = _max_below(first["number"])
            if tip_below is not None:
                log.warning(
                    "block %d: no stored block %d to link to (stored chain ends at %d); storing it unlinked",
                    first["number"],
                    first["number"] - 1,
                    tip_below,
                )

        new: list[dict] = []
        orphaned: list[int] = []
        for header in segment:
            old = stored.get(header["number"])
            if old is None:
                new.append(header)
            elif old[0] == header["hash"]:
                stats.skipped += 1
            else:
                orphaned.append(header["number"])
                new.append(header)

        above = stored.get(last["number"] + 1)
        orphan_from = orphaned[0] if orphaned else None
        with connection.cursor() as cursor:
            if above is not None and above[1] != last["hash"]:
                cursor.execute(f"DELETE FROM {TABLE} WHERE number > %s", [last["number"]])
                stats.replaced += cursor.rowcount
                if orphan_from is None:
                    orphan_from = last["number"] + 1
            if orphaned:
                cursor.execute(f"DELETE FROM {TABLE} WHERE number = ANY(%s)", [orphaned])
                stats.replaced += cursor.rowcount
        if orphan_from is not None:
            old_hash = stored.get(orphan_from, ("?", ""))[0]
            new_hash = next((h["hash"] for h in segment if h["number"] == orphan_from), "(none)")
            event = ReorgEvent(fork_point=orphan_from, replaced=stats.replaced, old_hash=old_hash, new_hash=new_hash)
            stats.reorgs.append(event)
            log.warning(
                "reorg: common ancestor %d; replaced %d orphaned stored block(s) from %d (old %s, new %s)",
                orphan_from - 1,
                event.replaced,
                orphan_from,
                old_hash,
                new_hash,
            )
        if new:
            copy_headers(new)
        stats.stored += len(new)
        return stats

    def _walk_back(self, segment: list[dict]) -> list[dict]:
        """Ancestors of segment[0] on its own chain, down to the first one whose parent
        is stored (the common ancestor), oldest first."""
        first = segment[0]
        stored_below = _stored_hashes(first["number"] - 1, first["number"] - 1)[first["number"] - 1][0]
        if self.fetch is None:
            raise HeaderMismatch(
                first["number"],
                "parent_hash",
                f"{first['parent_hash']} does not match the stored block {first['number'] - 1} "
                f"({stored_below}); a reorg the input cannot resolve (include the blocks from the fork point)",
            )
        ancestors: list[dict] = []  # newest first
        child = first
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT min(number) FROM {TABLE}")
            lowest_stored = cursor.fetchone()[0] or 0
        step = 4
        while True:
            depth = first["number"] - child["number"]
            if depth >= self.max_reorg_depth:
                raise IngestError(f"reorg below block {first['number']} is deeper than {self.max_reorg_depth} blocks")
            hi = child["number"] - 1
            # never below our lowest stored block: past it there is nothing to meet
            lo = max(0, hi - step + 1, lowest_stored)
            step = min(step * 2, self.walk_step)
            numbers = list(range(hi, lo - 1, -1))
            fetched = self._verified(self.fetch(numbers))
            fetched_by_number = {h["number"]: h for h in fetched}
            stored = _stored_hashes(lo - 1, hi)
            for number in numbers:
                header = fetched_by_number.get(number)
                if header is None:
                    raise IngestError(f"the source did not return block {number} while resolving a reorg")
                verify_link(child, header["hash"], where="source's block")
                ancestors.append(header)
                child = header
                parent = stored.get(number - 1)
                if parent is None or parent[0] == header["parent_hash"]:
                    ancestors.reverse()
                    return ancestors
            if lo == 0 or lo == lowest_stored:
                ancestors.reverse()
                return ancestors


def _max_below(number: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(number) FROM {TABLE} WHERE number < %s", [number])
        return cursor.fetchone()[0]


def _segments(headers: list[dict]) -> Iterator[list[dict]]:
    segment = [headers[0]]
    for header in headers[1:]:
        if header["number"] == segment[-1]["number"] + 1:
            segment.append(header)
        else:
            yield segment
            segment = [header]
    yield segment


# --- drivers ------------------------------------------------------------------------------
def _progress(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(
        total=total, unit="blk", unit_scale=True, desc=desc, disable=not enabled, dynamic_ncols=True, smoothing=0.1
    )


def missing_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """The inclusive ranges of block numbers in start..end that are not stored (one query:
    gaps between consecutive stored numbers, with sentinels just outside the range)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT gap_start, gap_end FROM (
                SELECT number + 1 AS gap_start, lead(number) OVER (ORDER BY number) - 1 AS gap_end
                FROM (SELECT %s::bigint AS number
                      UNION ALL SELECT number FROM {TABLE} WHERE number BETWEEN %s AND %s
                      UNION ALL SELECT %s::bigint) AS bounded
            ) AS gaps
            WHERE gap_end >= gap_start ORDER BY gap_start
            """,
            [start - 1, start, end, end + 1],
        )
        return [(int(lo), int(hi)) for lo, hi in cursor.fetchall()]


class IngestIncomplete(IngestError):
    """Blocks of the asked range are still not stored after the ingest: never a success."""


def ingest_range(
    client, start: int, end: int, *, batch_size: int = 500, resume: bool = True, progress: bool = True
) -> IngestStats:
    """Ingest blocks start..end (inclusive) from a JSON-RPC client. With `resume`, only the
    blocks of the range that are not stored yet are fetched (after the stored tip, and any
    gap below it: a backfill); without it, the whole range is fetched again. Batches are
    prefetched one ahead. Raises IngestIncomplete if blocks of the range are still missing."""
    if start < 0 or end < start:
        raise IngestError(f"empty or negative block range {start}..{end}")
    gaps = missing_ranges(start, end) if resume else [(start, end)]
    if not gaps:
        log.info("blocks %d..%d are all stored already; nothing to do", start, end)
        return IngestStats(skipped=end - start + 1, tip=stored_tip())
    if resume and gaps != [(start, end)]:
        log.info(
            "fetching %d missing block(s) of %d..%d in %d range(s), first %d..%d",
            sum(hi - lo + 1 for lo, hi in gaps),
            start,
            end,
            len(gaps),
            *gaps[0],
        )
    ingestor = Ingestor(fetch=client.get_blocks)
    stats = IngestStats()
    ranges = [
        list(range(lo, min(lo + batch_size, hi + 1))) for gap_lo, hi in gaps for lo in range(gap_lo, hi + 1, batch_size)
    ]
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="rpc-prefetch") as pool,
        _progress(sum(len(numbers) for numbers in ranges), progress, "ingest") as bar,
    ):
        pending = pool.submit(client.get_blocks, ranges[0]) if ranges else None
        for i, numbers in enumerate(ranges):
            assert pending is not None  # submitted for every range
            blocks = pending.result()
            pending = pool.submit(client.get_blocks, ranges[i + 1]) if i + 1 < len(ranges) else None
            try:
                stats.merge(ingestor.ingest_batch(blocks))
            except BaseException:
                if pending is not None:
                    pending.cancel()
                raise
            bar.update(len(numbers))
    still_missing = missing_ranges(start, end)
    if still_missing:
        count = sum(hi - lo + 1 for lo, hi in still_missing)
        lo, hi = still_missing[0]
        raise IngestIncomplete(
            f"{count} block(s) of {start}..{end} are still not stored after the ingest (first {lo}..{hi}); "
            "a stored chain above them did not link to the fetched blocks and was replaced, or the node "
            "answered with other blocks"
        )
    return stats


def load_block_file(path: str | Path) -> list[dict]:
    """Block objects from a JSON file: a list, or {"blocks": [...]}."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise IngestError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("blocks"), list):
        data = data["blocks"]
    if not isinstance(data, list):
        raise IngestError(f'{path}: expected a JSON list of blocks or an object with a "blocks" list')
    return data


def ingest_file(path: str | Path, *, batch_size: int = 500, progress: bool = True) -> IngestStats:
    """Ingest every block of a JSON file (any order), in number order, batch by batch."""
    blocks = load_block_file(path)
    keyed = []
    for index, block in enumerate(blocks):
        try:
            number = verify_number(block)
        except HeaderMismatch as exc:
            raise HeaderMismatch(exc.number, exc.field, f"{exc.detail} (item {index} of {path})") from None
        keyed.append((number, index, block))
    keyed.sort(key=lambda item: (item[0], item[1]))
    ordered = [block for _, _, block in keyed]
    ingestor = Ingestor(fetch=None)
    stats = IngestStats()
    with _progress(len(ordered), progress, "ingest") as bar:
        for lo in range(0, len(ordered), batch_size):
            batch = ordered[lo : lo + batch_size]
            stats.merge(ingestor.ingest_batch(batch))
            bar.update(len(batch))
    if stats.tip is None:
        stats.tip = stored_tip()
    return stats


def verify_number(block: Any) -> int:
    from handler.chain.header import _parse_int

    if not isinstance(block, dict) or block.get("number") is None:
        raise HeaderMismatch(None, "number", "missing")
    try:
        return _parse_int(block["number"])
    except ValueError as exc:
        raise HeaderMismatch(None, "number", str(exc)) from None
