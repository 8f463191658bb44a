from __future__ import annotations

import pytest
from chainkit import demo_headers

from handler.chain.header import (
    FORK_FIELDS,
    HeaderMismatch,
    compute_block_hash,
    fork_of,
    header_to_rpc,
    next_base_fee,
    normalise_header,
    rlp_fields,
    verify_header,
)


def test_sepolia_headers_verify(sepolia_blocks):
    for block in sepolia_blocks:
        header = verify_header(block)
        assert header["hash"] == block["hash"]
        assert compute_block_hash(block) == block["hash"]
        assert fork_of(header) == "prague"
        assert len(rlp_fields(header)) == 21
    assert sepolia_blocks[1]["parentHash"] == sepolia_blocks[0]["hash"]


def _bump_quantity(value: str) -> str:
    return hex(int(value, 16) + 1)


def _flip_hex(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


TAMPER = {
    "baseFeePerGas": _bump_quantity,
    "timestamp": _bump_quantity,
    "gasUsed": _bump_quantity,
    "gasLimit": _bump_quantity,
    "difficulty": _bump_quantity,
    "blobGasUsed": _bump_quantity,
    "excessBlobGas": _bump_quantity,
    "stateRoot": _flip_hex,
    "transactionsRoot": _flip_hex,
    "receiptsRoot": _flip_hex,
    "parentHash": _flip_hex,
    "sha3Uncles": _flip_hex,
    "miner": _flip_hex,
    "logsBloom": _flip_hex,
    "mixHash": _flip_hex,
    "nonce": _flip_hex,
    "extraData": _flip_hex,
    "withdrawalsRoot": _flip_hex,
    "parentBeaconBlockRoot": _flip_hex,
    "requestsHash": _flip_hex,
    "hash": _flip_hex,
}


@pytest.mark.parametrize("field", sorted(TAMPER))
def test_any_changed_field_fails_naming_the_block(sepolia_blocks, field):
    block = dict(sepolia_blocks[0])
    block[field] = TAMPER[field](block[field])
    with pytest.raises(HeaderMismatch) as info:
        verify_header(block)
    assert info.value.number == 8006481
    assert "block 8006481" in str(info.value)
    assert info.value.field == "hash"
    assert block["hash"] in str(info.value)  # the declared hash, next to the computed one


def test_dropping_a_fork_field_fails(sepolia_blocks):
    block = dict(sepolia_blocks[1])
    del block["requestsHash"]  # now a Cancun-shaped header: different RLP, different hash
    with pytest.raises(HeaderMismatch, match="block 8006482: hash"):
        verify_header(block)
    del block["withdrawalsRoot"]  # Cancun fields without Shanghai's: not a header shape
    with pytest.raises(HeaderMismatch, match="block 8006482: fields"):
        verify_header(block)


def test_malformed_fields_are_named(sepolia_blocks):
    block = dict(sepolia_blocks[0], stateRoot="0x1234")
    with pytest.raises(HeaderMismatch, match="block 8006481: state_root: expected 32 bytes"):
        verify_header(block)
    block = dict(sepolia_blocks[0], gasUsed="lots")
    with pytest.raises(HeaderMismatch, match="block 8006481: gas_used"):
        verify_header(block)
    block = dict(sepolia_blocks[0])
    del block["baseFeePerGas"]
    with pytest.raises(HeaderMismatch, match="pre-London"):
        verify_header(block)
    with pytest.raises(HeaderMismatch, match="number"):
        verify_header(dict(sepolia_blocks[0], number="0xzz"))


def test_indexer_row_shape_normalises_to_the_same_header(sepolia_blocks):
    rpc = sepolia_blocks[0]
    header = verify_header(rpc)
    row = {
        "number": header["number"],
        "block_hash": rpc["hash"],
        "transaction_root": rpc["transactionsRoot"],
        "timestamp": str(header["timestamp"]),
        "base_fee_per_gas": rpc["baseFeePerGas"],
        "gas_limit": header["gas_limit"],
        "gas_used": header["gas_used"],
        "totaldifficulty": "0x0",
    }
    for field in (
        "parent_hash",
        "sha3_uncles",
        "miner",
        "state_root",
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
    ):
        value = header[field]
        row[field] = hex(value) if isinstance(value, int) else value.upper().replace("0X", "0x")
    assert verify_header(row) == header


@pytest.mark.parametrize("fork", ["london", "shanghai", "cancun", "prague"])
def test_each_fork_shape_round_trips(fork):
    keep = set(FORK_FIELDS[fork])
    headers = demo_headers(3)
    parent = None
    for h in headers:
        h = {k: (v if k in keep or k == "hash" else None) for k, v in h.items()}
        if parent:
            h["parent_hash"] = parent
        h["hash"] = compute_block_hash(h)
        assert fork_of(h) == fork
        assert len(rlp_fields(h)) == len(keep)
        assert verify_header(header_to_rpc(h)) == h
        parent = h["hash"]


def test_next_base_fee_follows_eip1559():
    assert next_base_fee(10**9, 15_000_000, 30_000_000) == 10**9
    assert next_base_fee(10**9, 30_000_000, 30_000_000) == 1_125_000_000
    assert next_base_fee(10**9, 0, 30_000_000) == 875_000_000
    assert next_base_fee(7, 15_000_001, 30_000_000) == 8  # minimum increase of 1 wei


def test_normalise_rejects_non_objects():
    with pytest.raises(HeaderMismatch):
        normalise_header(["not", "a", "block"])  # type: ignore[arg-type]
