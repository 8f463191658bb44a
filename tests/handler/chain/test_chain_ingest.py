from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chainkit import demo_headers, refork
from django.core.management import call_command
from django.core.management.base import CommandError

from handler.chain.header import HeaderMismatch
from handler.chain.ingest import Ingestor, ingest_range
from handler.chain.rpc import RpcClient, RpcError
from handler.models import BlockHeader

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db


def ingest(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("ingest_headers", *args, "--no-progress", stdout=out)
    return out.getvalue()


def stored_hashes() -> dict[int, str]:
    return dict(BlockHeader.objects.order_by("number").values_list("number", "hash"))


def test_sepolia_from_file_stores_verified_headers(sepolia_blocks, write_blocks):
    for wrap in (False, True):
        path = write_blocks(sepolia_blocks, wrap=wrap)
        ingest("--from-file", path)
    rows = list(BlockHeader.objects.order_by("number"))
    assert [r.number for r in rows] == [8006481, 8006482]
    assert rows[0].hash == sepolia_blocks[0]["hash"]
    assert rows[0].base_fee_per_gas == int(sepolia_blocks[0]["baseFeePerGas"], 16)
    assert rows[1].requests_hash == sepolia_blocks[1]["requestsHash"]
    assert rows[1].parent_hash == rows[0].hash
    assert "stored 0, already present 2" in ingest("--from-file", path)  # idempotent


def test_sepolia_through_json_rpc(sepolia_blocks, node):
    node.serve(sepolia_blocks)
    out = ingest("--rpc-url", node.url, "--from", "8006481", "--to", "8006482")
    assert "stored 2" in out
    assert stored_hashes() == {8006481: sepolia_blocks[0]["hash"], 8006482: sepolia_blocks[1]["hash"]}


@pytest.mark.parametrize(
    "field,value", [("baseFeePerGas", "0xa0ba16"), ("timestamp", "0x67e7deb1"), ("receiptsRoot", "0x" + "ab" * 32)]
)
def test_tampered_file_is_rejected_naming_the_block(sepolia_blocks, write_blocks, field, value):
    blocks = [dict(b) for b in sepolia_blocks]
    blocks[1][field] = value
    with pytest.raises(CommandError) as info:
        ingest("--from-file", write_blocks(blocks))
    assert info.value.returncode == 2
    assert "block 8006482" in str(info.value)
    assert BlockHeader.objects.count() == 0  # nothing from the batch


def test_only_the_failing_batch_is_rejected(write_blocks):
    chain = demo_headers(50)
    bad = [dict(h) for h in chain]
    bad[30]["gas_used"] += 1
    with pytest.raises(CommandError, match=f"block {chain[30]['number']}: hash"):
        ingest("--from-file", write_blocks(bad), "--batch-size", "20")
    assert sorted(stored_hashes()) == [h["number"] for h in chain[:20]]
    ingest("--from-file", write_blocks(chain), "--batch-size", "20")  # the good data completes it
    assert stored_hashes() == {h["number"]: h["hash"] for h in chain}


def test_broken_parent_link_in_a_batch(write_blocks):
    a, b = demo_headers(10, seed=1), demo_headers(10, seed=2)
    mixed = a[:5] + b[5:]  # each header verifies, but block 5 names a's block 4 wrongly
    with pytest.raises(CommandError, match=f"block {a[5]['number']}: parent_hash"):
        ingest("--from-file", write_blocks(mixed))
    assert BlockHeader.objects.count() == 0


def test_rpc_ingest_in_batches_and_resume(node):
    chain = demo_headers(300)
    node.serve(chain)
    first, last = chain[0]["number"], chain[-1]["number"]
    ingest(
        "--rpc-url",
        node.url,
        "--from",
        str(first),
        "--to",
        str(first + 199),
        "--batch-size",
        "64",
        "--rpc-batch-size",
        "25",
    )
    assert len(stored_hashes()) == 200
    node.requested_numbers.clear()
    out = ingest("--rpc-url", node.url, "--from", str(first), "--batch-size", "64")  # --to: node's latest
    assert "stored 100" in out
    assert min(node.requested_numbers) == first + 200  # resumed after the stored tip
    assert stored_hashes() == {h["number"]: h["hash"] for h in chain}
    node.requested_numbers.clear()
    assert "stored 0" in ingest("--rpc-url", node.url, "--from", str(first), "--to", str(last))
    assert node.requested_numbers == []


def test_rpc_retries_with_backoff(node):
    chain = demo_headers(30)
    node.serve(chain)
    node.fail_next = 2
    client = RpcClient(node.url, backoff=0.01, max_retries=3, timeout=(2, 5))
    stats = ingest_range(client, chain[0]["number"], chain[-1]["number"], batch_size=10, progress=False)
    assert stats.stored == 30 and node.requests >= 5
    node.fail_next = 10
    with pytest.raises(RpcError, match="giving up after 3 attempts"):
        RpcClient(node.url, backoff=0.01, max_retries=2, timeout=(2, 5)).get_blocks([chain[0]["number"]])


def test_reorg_through_rpc_walks_back_and_replaces(node, caplog):
    chain_a = demo_headers(41)
    chain_b = refork(chain_a, 25)
    first = chain_a[0]["number"]
    node.serve(chain_a)
    ingest("--rpc-url", node.url, "--from", str(first), "--to", str(first + 30))
    node.serve(chain_b)  # the node switched to a competing chain from block first+25
    with caplog.at_level(logging.WARNING, logger="handler.chain.ingest"):
        out = ingest("--rpc-url", node.url, "--from", str(first), "--to", str(first + 40), "--batch-size", "8")
    assert stored_hashes() == {h["number"]: h["hash"] for h in chain_b}
    assert "replaced 6 in 1 reorg(s)" in out
    assert any(f"common ancestor {first + 24}" in r.getMessage() for r in caplog.records)


def test_reorg_from_file_and_orphaned_descendants(write_blocks):
    chain_a = demo_headers(40)
    chain_b = refork(chain_a, 25)
    ingest("--from-file", write_blocks(chain_a[:30]))
    out = ingest("--from-file", write_blocks(chain_b[20:35], name="b.json"))
    assert "replaced 5" in out
    assert stored_hashes() == {h["number"]: h["hash"] for h in chain_b[:35]}
    # back to chain a, but only up to 29: b's blocks 30..34 no longer link and go too
    out = ingest("--from-file", write_blocks(chain_a[24:30], name="a.json"))
    assert stored_hashes() == {h["number"]: h["hash"] for h in chain_a[:30]}


def test_reorg_the_file_cannot_resolve_is_rejected(write_blocks):
    chain_a = demo_headers(40)
    chain_b = refork(chain_a, 25)
    ingest("--from-file", write_blocks(chain_a[:30]))
    with pytest.raises(CommandError) as info:
        ingest("--from-file", write_blocks(chain_b[28:35], name="b.json"))
    assert info.value.returncode == 2
    assert f"block {chain_b[28]['number']}: parent_hash" in str(info.value)
    assert stored_hashes() == {h["number"]: h["hash"] for h in chain_a[:30]}


def test_ingestor_refuses_two_different_blocks_with_one_number():
    a, b = demo_headers(3, seed=1), demo_headers(3, seed=2)
    with pytest.raises(HeaderMismatch, match="two different blocks"):
        Ingestor().ingest_batch([a[0], b[0]])


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "one of the arguments --rpc-url --from-file is required"),
        (["--rpc-url", "http://127.0.0.1:9", "--from", "abc"], "'abc' is not a block number"),
        (["--rpc-url", "http://127.0.0.1:9"], "--from is required"),
        (["--rpc-url", "ftp://x", "--from", "1"], "not an http(s) URL"),
        (["--from-file", "/nonexistent.json"], "cannot read"),
        (["--from-file", "x.json", "--from", "3"], "--from/--to go with --rpc-url"),
    ],
)
def test_bad_arguments_exit_2(args, message):
    with pytest.raises(CommandError) as info:
        ingest(*args)
    assert info.value.returncode == 2
    assert message in str(info.value)


def test_bad_argument_is_one_line_on_stderr():
    proc = subprocess.run(
        [sys.executable, "manage.py", "ingest_headers", "--rpc-url", "http://127.0.0.1:9", "--from", "x"],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = [
        line
        for line in proc.stderr.splitlines()
        if line.strip() and "Warning" not in line and "return Path" not in line
    ]
    assert len(lines) == 1 and "'x' is not a block number" in lines[0]


def test_rpc_backfills_below_the_stored_tip_and_fills_gaps(node):
    chain = demo_headers(300)
    node.serve(chain)
    first, last = chain[0]["number"], chain[-1]["number"]
    ingest("--rpc-url", node.url, "--from", str(first + 100), "--to", str(last))
    node.requested_numbers.clear()
    out = ingest("--rpc-url", node.url, "--from", str(first), "--to", str(first + 50))  # below the tip
    assert "stored 51" in out
    assert sorted(node.requested_numbers) == list(range(first, first + 51))
    BlockHeader.objects.filter(number__range=(first + 150, first + 160)).delete()  # a hole
    node.requested_numbers.clear()
    out = ingest("--rpc-url", node.url, "--from", str(first), "--to", str(last), "--batch-size", "16")
    assert "stored 60" in out  # first+51..first+99 and the 11-block hole, nothing else
    assert sorted(node.requested_numbers) == [*range(first + 51, first + 100), *range(first + 150, first + 161)]
    assert stored_hashes() == {h["number"]: h["hash"] for h in chain}


def test_rpc_range_fully_stored_says_so_without_fetching(node):
    chain = demo_headers(40)
    node.serve(chain)
    first = chain[0]["number"]
    ingest("--rpc-url", node.url, "--from", str(first), "--to", str(first + 39))
    node.requested_numbers.clear()
    out = ingest("--rpc-url", node.url, "--from", str(first + 5), "--to", str(first + 9))
    assert "stored 0, already present 5" in out
    assert node.requested_numbers == []


def test_rpc_ingest_that_leaves_blocks_missing_exits_1(node):
    chain_a = demo_headers(41)
    chain_b = refork(chain_a, 10)
    first = chain_a[0]["number"]
    node.serve(chain_b)
    ingest("--rpc-url", node.url, "--from", str(first + 20), "--to", str(first + 40))
    node.serve(chain_a)  # the stored blocks above the gap belong to a chain the node abandoned
    with pytest.raises(CommandError) as raised:
        ingest("--rpc-url", node.url, "--from", str(first), "--to", str(first + 40))
    assert raised.value.returncode == 1
    assert "still not stored" in str(raised.value)
