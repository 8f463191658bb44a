"""bucket_averages / block_range_bounds over our table and over a Fossil indexer table."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import DatabaseError, connection, connections

from handler.chain import demo
from handler.chain.sources import INDEXER_ALIAS, IndexerRouter
from handler.selectors import block_base_fees, block_range_bounds, bucket_averages

HOUR = 3600
START = 1672531200  # 2023-01-01T00:00Z, the README example window
INDEXER_SCHEMA = "fossil_indexer_test"


def _seed(start: int, end: int, seed: int = 11) -> list[dict]:
    demo.seed_demo_chain(start, end, seed, force=True)
    return list(demo.generate_chain(start, end, seed))


def _numpy_buckets(headers, start, end, bucket):
    groups: dict[int, list[int]] = {}
    for h in headers:
        if start <= h["timestamp"] < end:
            groups.setdefault(h["timestamp"] // bucket * bucket, []).append(h["base_fee_per_gas"])
    return [(b, float(np.mean(np.array(v, dtype=np.float64))), len(v)) for b, v in sorted(groups.items())]


def _assert_series_equal(got, expected):
    assert [(b, n) for b, _, n in got] == [(b, n) for b, _, n in expected]
    for (_, avg, _), (_, ref, _) in zip(got, expected):
        assert abs(avg - ref) <= 1e-12 * ref


@pytest.mark.django_db
def test_hourly_and_minute_buckets_match_numpy():
    headers = _seed(START - 2 * HOUR, START + 3 * HOUR)
    hourly = bucket_averages(START - 2 * HOUR, START + 3 * HOUR, HOUR)
    assert [b for b, _, _ in hourly] == [START + k * HOUR for k in range(-2, 3)]
    assert all(n == 300 for _, _, n in hourly)
    _assert_series_equal(hourly, _numpy_buckets(headers, START - 2 * HOUR, START + 3 * HOUR, HOUR))
    minutes = bucket_averages(START + 30, START + HOUR + 90, 60)  # unaligned edges: partial buckets
    _assert_series_equal(minutes, _numpy_buckets(headers, START + 30, START + HOUR + 90, 60))
    assert minutes[0][0] == START and minutes[0][2] == 2  # blocks at +36 and +48 only
    for lo, hi, bucket in [
        (START - 7000, START + 5000, 900),
        (START + 1, START + 2 * HOUR - 1, 7200),
        (START - 10 * HOUR, START + 10 * HOUR, 86400),
    ]:  # range-scan path, odd edges
        _assert_series_equal(bucket_averages(lo, hi, bucket), _numpy_buckets(headers, lo, hi, bucket))
    assert block_range_bounds().count == 1500
    assert bucket_averages(START + 10 * HOUR, START + 11 * HOUR, HOUR) == []


@pytest.mark.django_db
def test_end_is_exclusive_and_arguments_are_checked():
    _seed(START, START + HOUR)
    assert bucket_averages(START, START + 12, 60)[0][2] == 1  # only the block at START
    assert [r[1] for r in block_base_fees(START, START + 24)] == [START, START + 12]
    with pytest.raises(ValueError):
        bucket_averages(START, START + HOUR, 0)
    with pytest.raises(ValueError):
        bucket_averages(START + HOUR, START, 60)
    with pytest.raises(TypeError):
        bucket_averages(float(START), START + HOUR, 60)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_plan_uses_the_covering_index():
    _seed(START, START + 2 * HOUR)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE handler_blockheader")
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny table: make the planner show its index choice
        cursor.execute(
            "EXPLAIN SELECT (timestamp / 3600) * 3600, CAST(AVG(base_fee_per_gas) AS double precision), COUNT(*) "
            "FROM handler_blockheader WHERE timestamp >= %s AND timestamp < %s GROUP BY 1 ORDER BY 1",
            [START, START + HOUR],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "handler_bh_ts_fee_idx" in plan


# --- the indexer source ---------------------------------------------------------------
INDEXER_DDL = f"""
DROP SCHEMA IF EXISTS {INDEXER_SCHEMA} CASCADE;
CREATE SCHEMA {INDEXER_SCHEMA};
CREATE TABLE {INDEXER_SCHEMA}.blockheaders (
    number BIGINT PRIMARY KEY, block_hash CHAR(66) UNIQUE NOT NULL, gas_limit BIGINT, gas_used BIGINT,
    base_fee_per_gas TEXT, timestamp TEXT, parent_hash TEXT, sha3_uncles TEXT, miner TEXT, state_root TEXT,
    transaction_root TEXT, receipts_root TEXT, logs_bloom TEXT, difficulty TEXT, totaldifficulty TEXT,
    extra_data TEXT, mix_hash TEXT, nonce TEXT, withdrawals_root TEXT, blob_gas_used TEXT,
    excess_blob_gas TEXT, parent_beacon_block_root TEXT, requests_hash TEXT);
"""
COPY_TO_INDEXER = f"""
INSERT INTO {INDEXER_SCHEMA}.blockheaders
SELECT number, hash, gas_limit, gas_used, '0x' || to_hex(base_fee_per_gas), timestamp::text, parent_hash,
       sha3_uncles, miner, state_root, transactions_root, receipts_root, logs_bloom, '0x0', '0x0', extra_data,
       mix_hash, nonce, withdrawals_root, '0x' || to_hex(blob_gas_used), '0x' || to_hex(excess_blob_gas),
       parent_beacon_block_root, requests_hash
FROM handler_blockheader
"""


@pytest.fixture
def indexer_db(transactional_db):
    """An indexer-shaped `blockheaders` table in its own schema of the test database,
    reached through an extra read-only `indexer` connection alias."""
    with connection.cursor() as cursor:
        cursor.execute(INDEXER_DDL)
    cfg = dict(connections["default"].settings_dict)
    cfg["OPTIONS"] = {
        **cfg.get("OPTIONS", {}),
        "options": f"-c search_path={INDEXER_SCHEMA} -c default_transaction_read_only=on",
    }
    connections.settings[INDEXER_ALIAS] = cfg
    # Connect up front: Django's test case refuses to *open* connections for aliases
    # it does not manage (and it must not manage this one: it would flush it).
    connections[INDEXER_ALIAS].connect()
    try:
        yield INDEXER_SCHEMA
    finally:
        connections[INDEXER_ALIAS].close()
        del connections[INDEXER_ALIAS]
        del connections.settings[INDEXER_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {INDEXER_SCHEMA} CASCADE")


def test_indexer_source_gives_the_same_series(indexer_db, settings):
    _seed(START - 3 * HOUR, START + 2 * HOUR + 600)
    with connection.cursor() as cursor:
        cursor.execute(COPY_TO_INDEXER)
        # a pre-London row the indexer may hold: no base fee, left out like our table would
        cursor.execute(
            f"INSERT INTO {INDEXER_SCHEMA}.blockheaders (number, block_hash, timestamp) "
            f"VALUES (1, '0x' || repeat('0', 64), %s)",
            [str(START)],
        )
    cases = [(START - 3 * HOUR, START + 3 * HOUR, HOUR), (START - 100, START + 200, 60), (START, START + 7, 1)]
    settings.BLOCK_SOURCE = "fossil"
    ours = [bucket_averages(*case) for case in cases]
    our_bounds = block_range_bounds()
    settings.BLOCK_SOURCE = "indexer"
    theirs = [bucket_averages(*case) for case in cases]
    assert theirs == ours  # bit-identical: same exact AVG, same float64 rounding
    assert block_range_bounds() == our_bounds
    their_fees = block_base_fees(START, START + 60)
    settings.BLOCK_SOURCE = "fossil"
    assert their_fees == block_base_fees(START, START + 60)
    assert ours[0][0][2] == 300 and len(ours[0]) == 6


def test_indexer_connection_is_read_only(indexer_db):
    with pytest.raises(DatabaseError, match="read-only"), connections[INDEXER_ALIAS].cursor() as cursor:
        cursor.execute("DELETE FROM blockheaders")
    router = IndexerRouter()
    assert router.allow_migrate(INDEXER_ALIAS, "handler") is False
    assert router.allow_migrate("default", "handler") is None


def test_indexer_source_needs_the_alias(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.BLOCK_SOURCE = "indexer"
    with pytest.raises(ImproperlyConfigured, match="INDEXER_DATABASE_URL"):
        bucket_averages(START, START + HOUR, HOUR)
    settings.BLOCK_SOURCE = "elsewhere"
    with pytest.raises(ImproperlyConfigured, match="BLOCK_SOURCE"):
        bucket_averages(START, START + HOUR, HOUR)
