"""A deterministic synthetic chain of Prague-shaped headers for local runs and tests.

Blocks come every 12 s on a grid anchored at 2020-01-01T00:00Z (block n has timestamp
ANCHOR + 12 n, so every UTC hour holds exactly 300 blocks). Gas use is simulated
around the EIP-1559 target with a daily cycle (busiest mid-afternoon UTC), a weekly
cycle (quieter weekends), slow hourly noise and per-block noise, plus price-elastic
demand that keeps the base fee in a realistic 1–100 gwei band. Each base fee follows
the EIP-1559 update rule from its parent exactly. Every header's hash is keccak-256 of
its RLP and every parent hash links, so the chain passes the same verification as
real headers (`handler.chain.header.verify_header`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import rlp
from django.db import connection, transaction
from eth_hash.auto import keccak

from handler.chain.header import FIELD_KINDS, PRAGUE_FIELDS, encode_header, next_base_fee

log = logging.getLogger(__name__)

__all__ = [
    "ANCHOR",
    "BLOCK_TIME",
    "DEFAULT_END",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "SeedResult",
    "block_numbers",
    "generate_chain",
    "seed_demo_chain",
]

ANCHOR = 1_577_836_800  # 2020-01-01T00:00:00Z
BLOCK_TIME = 12
DEFAULT_START = 1_669_852_800  # 2022-12-01T00:00:00Z
DEFAULT_END = 1_672_617_600  # 2023-01-02T00:00:00Z (exclusive)
DEFAULT_SEED = 20230101
GWEI = 10**9
GAS_LIMIT = 30_000_000
REF_FEE = 20 * GWEI
MIN_FEE = int(1.2 * GWEI)
MAX_FEE = 95 * GWEI
BLOB_GAS_PER_BLOB = 131_072
TARGET_BLOB_GAS = 3 * BLOB_GAS_PER_BLOB
EMPTY_UNCLES = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
EMPTY_REQUESTS = "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ZERO_BLOOM = "0x" + "00" * 256
EXTRA_DATA = "0x" + b"fossil demo chain".hex()
MINERS = [
    "0x95222290dd7278aa3ddd389cc1e1d165cc4bafe5",
    "0x1f9090aae28b8a3dceadf281b0f12828e676c326",
    "0x4838b106fce9647bdf1e7877bf73ce8b0bad5f97",
    "0x388c818ca8b9251b393131c08a736a67ccb19297",
    "0xdafea492d9c6733ae3d56b7ed1adb60692c98bc5",
]


def block_numbers(start: int, end: int) -> range:
    """Numbers of the demo blocks with start <= timestamp < end."""
    if start < ANCHOR:
        raise ValueError(f"the demo chain starts at {ANCHOR} (2020-01-01T00:00Z); start {start} is before it")
    if end <= start:
        raise ValueError(f"end {end} must be after start {start}")
    first = -(-(start - ANCHOR) // BLOCK_TIME)
    stop = -(-(end - ANCHOR) // BLOCK_TIME)
    return range(first, stop)


def _rlp_int(value: int) -> bytes:
    if value == 0:
        return b"\x80"
    if value < 0x80:
        return bytes((value,))
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(raw),)) + raw


def _const(value) -> bytes:
    return rlp.encode(value)


def _list_prefix(length: int) -> bytes:
    if length < 56:
        return bytes((0xC0 + length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(raw),)) + raw


def _demand(numbers: range, seed: int) -> np.ndarray:
    """Gas-use share before price feedback: 0.5 + daily + weekly + slow + block noise."""
    ts = ANCHOR + BLOCK_TIME * np.arange(numbers.start, numbers.stop, dtype=np.int64)
    tod = (ts % 86400) / 3600.0
    dow = ((ts // 86400) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    daily = 0.07 * np.sin(2 * np.pi * (tod - 9.0) / 24.0)  # peak ~15:00 UTC
    weekly = np.where(dow >= 5, -0.05, 0.02)
    hours = int((ts[-1] - ts[0]) // 3600) + 2
    slow = np.empty(hours)
    level = 0.0
    shocks = np.random.default_rng([seed, 1]).normal(0.0, 0.02, hours)
    for i in range(hours):  # AR(1) at hourly resolution
        level = 0.9 * level + shocks[i]
        slow[i] = level
    slow_at = np.interp((ts - ts[0]) / 3600.0, np.arange(hours), slow)
    noise = np.random.default_rng([seed, 3]).normal(0.0, 0.18, len(ts))
    return 0.5 + daily + weekly + slow_at + noise


def _blocks(start: int, end: int, seed: int) -> Iterator[tuple]:
    """Raw demo blocks: (number, hash, parent_hash, timestamp, base_fee, gas_used,
    miner_index, 192 random bytes for the six roots, blob_gas_used, excess_blob_gas)."""
    numbers = block_numbers(start, end)
    n = len(numbers)
    demand = _demand(numbers, seed).tolist()
    # separate streams, so a block's values do not depend on how long the range is
    randomness = np.random.default_rng([seed, 2]).bytes(32 * 6 * n)
    miners = np.random.default_rng([seed, 4]).integers(0, len(MINERS), n).tolist()
    blobs = np.random.default_rng([seed, 5]).integers(0, 7, n).tolist()

    enc_uncles = _const(bytes.fromhex(EMPTY_UNCLES[2:]))
    enc_bloom = _const(bytes(256))
    enc_difficulty = _const(0)
    enc_gas_limit = _rlp_int(GAS_LIMIT)
    enc_extra = _const(bytes.fromhex(EXTRA_DATA[2:]))
    enc_nonce = _const(bytes(8))
    enc_requests = _const(bytes.fromhex(EMPTY_REQUESTS[2:]))
    enc_miners = [_const(bytes.fromhex(m[2:])) for m in MINERS]

    parent_hash = keccak(b"fossil demo chain parent" + seed.to_bytes(16, "big") + numbers.start.to_bytes(8, "big"))
    base_fee = REF_FEE // 2 + (seed % 1000) * 10**7
    excess_blob = 0
    log_ref = math.log(REF_FEE)
    for i, number in enumerate(numbers):
        share = demand[i] - 0.15 * (math.log(base_fee) - log_ref)
        if base_fee > MAX_FEE:
            share = min(share, 0.2)
        elif base_fee < MIN_FEE:
            share = max(share, 0.8)
        gas_used = min(GAS_LIMIT, max(0, int(share * GAS_LIMIT)))
        blob_gas = blobs[i] * BLOB_GAS_PER_BLOB
        r = randomness[192 * i : 192 * (i + 1)]
        timestamp = ANCHOR + BLOCK_TIME * number
        payload = b"".join(
            (
                b"\xa0",
                parent_hash,
                enc_uncles,
                enc_miners[miners[i]],
                b"\xa0",
                r[0:32],
                b"\xa0",
                r[32:64],
                b"\xa0",
                r[64:96],
                enc_bloom,
                enc_difficulty,
                _rlp_int(number),
                enc_gas_limit,
                _rlp_int(gas_used),
                _rlp_int(timestamp),
                enc_extra,
                b"\xa0",
                r[96:128],
                enc_nonce,
                _rlp_int(base_fee),
                b"\xa0",
                r[128:160],
                _rlp_int(blob_gas),
                _rlp_int(excess_blob),
                b"\xa0",
                r[160:192],
                enc_requests,
            )
        )
        encoded = _list_prefix(len(payload)) + payload
        block_hash = keccak(encoded)
        block = (number, block_hash, parent_hash, timestamp, base_fee, gas_used, miners[i], r, blob_gas, excess_blob)
        if i % 50_000 == 0:  # the fast path must agree with the library encoding
            assert encoded == encode_header(_header(block)), f"demo RLP fast path disagrees at block {number}"
        yield block
        parent_hash = block_hash
        excess_blob = max(0, excess_blob + blob_gas - TARGET_BLOB_GAS)
        base_fee = next_base_fee(base_fee, gas_used, GAS_LIMIT)


def _header(block: tuple) -> dict:
    number, block_hash, parent_hash, timestamp, base_fee, gas_used, miner, r, blob_gas, excess_blob = block
    return {
        "number": number,
        "hash": "0x" + block_hash.hex(),
        "parent_hash": "0x" + parent_hash.hex(),
        "timestamp": timestamp,
        "base_fee_per_gas": base_fee,
        "gas_limit": GAS_LIMIT,
        "gas_used": gas_used,
        "sha3_uncles": EMPTY_UNCLES,
        "miner": MINERS[miner],
        "state_root": "0x" + r[0:32].hex(),
        "transactions_root": "0x" + r[32:64].hex(),
        "receipts_root": "0x" + r[64:96].hex(),
        "logs_bloom": ZERO_BLOOM,
        "difficulty": 0,
        "extra_data": EXTRA_DATA,
        "mix_hash": "0x" + r[96:128].hex(),
        "nonce": "0x0000000000000000",
        "withdrawals_root": "0x" + r[128:160].hex(),
        "blob_gas_used": blob_gas,
        "excess_blob_gas": excess_blob,
        "parent_beacon_block_root": "0x" + r[160:192].hex(),
        "requests_hash": EMPTY_REQUESTS,
    }


# COPY line order = the BlockHeader model's column order (checked in _row_order_ok).
ROW_FIELDS = (
    "number",
    "hash",
    "parent_hash",
    "timestamp",
    "base_fee_per_gas",
    "gas_limit",
    "gas_used",
    "sha3_uncles",
    "miner",
    "state_root",
    "transactions_root",
    "receipts_root",
    "logs_bloom",
    "difficulty",
    "extra_data",
    "mix_hash",
    "nonce",
    "withdrawals_root",
    "blob_gas_used",
    "excess_blob_gas",
    "parent_beacon_block_root",
    "requests_hash",
)


def _rows(start: int, end: int, seed: int) -> Iterator[str]:
    middle = f"\t{GAS_LIMIT}\t"
    consts = f"\t{EMPTY_UNCLES}\t"
    bloom = f"\t{ZERO_BLOOM}\t0\t{EXTRA_DATA}\t0x"
    for number, bh, ph, ts, bf, used, miner, r, blob, excess in _blocks(start, end, seed):
        yield (
            f"{number}\t0x{bh.hex()}\t0x{ph.hex()}\t{ts}\t{bf}{middle}{used}{consts}{MINERS[miner]}"
            f"\t0x{r[0:32].hex()}\t0x{r[32:64].hex()}\t0x{r[64:96].hex()}{bloom}{r[96:128].hex()}"
            f"\t0x0000000000000000\t0x{r[128:160].hex()}\t{blob}\t{excess}\t0x{r[160:192].hex()}"
            f"\t{EMPTY_REQUESTS}\n"
        )


def generate_chain(start: int = DEFAULT_START, end: int = DEFAULT_END, seed: int = DEFAULT_SEED) -> Iterator[dict]:
    """Normalised headers of the demo chain for start <= timestamp < end, oldest first."""
    for block in _blocks(start, end, seed):
        yield _header(block)


assert set(PRAGUE_FIELDS) <= set(FIELD_KINDS)


@contextmanager
def secondary_indexes_deferred(table: str):
    """Drop the table's non-primary-key indexes and unique constraints, and recreate
    them from their own definitions afterwards (bulk loads into an empty table build
    them much faster at the end). Must run inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)


@dataclass
class SeedResult:
    status: str  # "created", "present", "replaced", "skipped"
    blocks: int
    first: int
    last: int
    message: str


def seed_demo_chain(
    start: int = DEFAULT_START, end: int = DEFAULT_END, seed: int = DEFAULT_SEED, force: bool = False
) -> SeedResult:
    """Store the demo chain unless it is already there. With force, replace whatever the
    block table holds. Without it, a table holding other blocks is left alone."""
    from handler.chain.ingest import FIELDS, TABLE, copy_lines_pipelined

    numbers = block_numbers(start, end)
    if not numbers:
        raise ValueError(f"no 12-second demo block falls in [{start}, {end})")
    first_hash = next(
        generate_chain(ANCHOR + BLOCK_TIME * numbers.start, ANCHOR + BLOCK_TIME * numbers.start + 1, seed)
    )["hash"]
    first, last = numbers.start, numbers.stop - 1
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x0F0551_1B10C])
            cursor.execute(f"SELECT count(*), min(number), max(number) FROM {TABLE}")
            count, lo, hi = cursor.fetchone()
            stored_first = None
            if count:
                cursor.execute(f"SELECT hash FROM {TABLE} WHERE number = %s", [first])
                row = cursor.fetchone()
                stored_first = row[0] if row else None
        if count == len(numbers) and lo == first and hi == last and stored_first == first_hash:
            return SeedResult("present", count, first, last, f"demo chain already present ({count} blocks)")
        if count and not force:
            return SeedResult(
                "skipped",
                count,
                lo,
                hi,
                f"the block table already holds {count} other blocks ({lo}..{hi}); "
                f"left alone (pass --force to replace them with the demo chain)",
            )
        with connection.cursor() as cursor:
            if count:
                cursor.execute(f"TRUNCATE {TABLE}")
        assert tuple(FIELDS) == ROW_FIELDS, "BlockHeader columns changed; update demo.ROW_FIELDS"
        with secondary_indexes_deferred(TABLE):
            copy_lines_pipelined(_rows(start, end, seed))
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE} (number, timestamp, base_fee_per_gas)")
    status = "replaced" if count else "created"
    return SeedResult(
        status, len(numbers), first, last, f"demo chain {status}: {len(numbers)} blocks {first}..{last} (seed {seed})"
    )
