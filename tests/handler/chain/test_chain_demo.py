from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from handler.chain import demo
from handler.chain.header import next_base_fee, verify_header
from handler.models import BlockHeader

HOUR = 3600
GWEI = 10**9


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo_chain", *args, stdout=out)
    return out.getvalue()


def test_demo_chain_verifies_links_and_follows_eip1559():
    headers = list(demo.generate_chain(demo.DEFAULT_START, demo.DEFAULT_START + 2 * HOUR))
    assert len(headers) == 600
    for i, h in enumerate(headers):
        assert verify_header(h) == h  # library RLP + keccak agree with the generator
        assert h["timestamp"] == demo.DEFAULT_START + 12 * i
        assert 0 <= h["gas_used"] <= h["gas_limit"]
        if i:
            prev = headers[i - 1]
            assert h["parent_hash"] == prev["hash"]
            assert h["number"] == prev["number"] + 1
            assert h["base_fee_per_gas"] == next_base_fee(prev["base_fee_per_gas"], prev["gas_used"], prev["gas_limit"])
    assert headers[0]["requests_hash"] is not None  # Prague-shaped


def test_demo_chain_is_deterministic_and_range_independent():
    a = list(demo.generate_chain(demo.DEFAULT_START, demo.DEFAULT_START + HOUR, seed=5))
    b = list(demo.generate_chain(demo.DEFAULT_START, demo.DEFAULT_START + 3 * HOUR, seed=5))
    c = list(demo.generate_chain(demo.DEFAULT_START, demo.DEFAULT_START + HOUR, seed=6))
    assert a[0] == b[0] and [h["hash"] for h in a] == [h["hash"] for h in b[:300]]
    assert a[0]["hash"] != c[0]["hash"]


def test_demo_base_fees_are_realistic_with_seasonality():
    start = demo.DEFAULT_START
    headers = demo.generate_chain(start, start + 14 * 86400)
    fees = np.array([h["base_fee_per_gas"] for h in headers], dtype=np.float64)
    assert fees.min() >= 1 * GWEI and fees.max() <= 101 * GWEI
    hourly = fees.reshape(-1, 300).mean(axis=1)
    by_hour_of_day = hourly.reshape(-1, 24).mean(axis=0)
    assert by_hour_of_day.max() / by_hour_of_day.min() > 1.3  # a visible daily cycle
    assert len(set(np.round(hourly / GWEI, 3))) > 300  # and not flat


def test_default_range_covers_the_readme_example_and_a_month_before():
    numbers = demo.block_numbers(demo.DEFAULT_START, demo.DEFAULT_END)
    first_ts = demo.ANCHOR + 12 * numbers.start
    last_ts = demo.ANCHOR + 12 * (numbers.stop - 1)
    assert first_ts <= 1669852800 and last_ts >= 1672574400
    assert len(numbers) == 32 * 7200


@pytest.mark.django_db
def test_seed_command_is_idempotent_and_force_replaces():
    args = ["--start", "2023-01-01T00:00Z", "--end", "1672534800"]
    assert "created: 300 blocks" in seed(*args)
    hashes = list(BlockHeader.objects.order_by("number").values_list("hash", flat=True))
    assert "already present" in seed(*args)
    assert "left alone" in seed(*args, "--seed", "99")
    assert list(BlockHeader.objects.order_by("number").values_list("hash", flat=True)) == hashes
    assert "replaced: 300 blocks" in seed(*args, "--seed", "99", "--force")
    rows = list(BlockHeader.objects.order_by("number").values())
    assert rows[0]["hash"] != hashes[0]
    for prev, row in zip(rows, rows[1:]):
        assert row["parent_hash"] == prev["hash"]
    for row in rows[:5] + rows[-5:]:
        row["difficulty"] = int(row["difficulty"])
        assert verify_header(row) == row  # what was stored verifies


@pytest.mark.django_db
def test_seeded_chain_passes_ingest_verification(write_blocks):
    headers = list(demo.generate_chain(demo.DEFAULT_START, demo.DEFAULT_START + HOUR))
    out = StringIO()
    call_command("ingest_headers", "--from-file", write_blocks(headers), "--no-progress", stdout=out)
    assert "stored 300" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args,message",
    [
        (["--start", "yesterday"], "neither unix seconds nor an ISO-8601 time"),
        (["--start", "2023-01-02", "--end", "2023-01-01"], "must be after start"),
        (["--start", "2019-01-01"], "the demo chain starts at"),
        (["--seed", "-1"], "between 0"),
    ],
)
def test_seed_command_bad_arguments(args, message):
    with pytest.raises(CommandError) as info:
        seed(*args)
    assert info.value.returncode == 2 and message in str(info.value)
