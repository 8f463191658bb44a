"""Block headers: normalisation, the RLP field list per fork, and hash verification.

A *normalised header* is a dict keyed by the `BlockHeader` model's field names:
integers for quantities (number, timestamp, gas, base fee, difficulty, blob gas) and
0x-prefixed lowercase hex strings for hashes, addresses and byte strings. Optional
fork fields are None when absent.

The block hash is keccak-256 of the RLP list of header fields in consensus order. The
list grows with each fork; which fork a header belongs to is read from the fields it
carries (London: base fee; Shanghai: + withdrawals root; Cancun: + blob gas used,
excess blob gas, parent beacon root; Prague: + requests hash).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import rlp
from eth_hash.auto import keccak

__all__ = [
    "FORK_FIELDS",
    "FORKS",
    "HeaderMismatch",
    "compute_block_hash",
    "encode_header",
    "fork_of",
    "header_to_rpc",
    "normalise_header",
    "rlp_fields",
    "verify_header",
    "verify_link",
]


class HeaderMismatch(ValueError):
    """A header that cannot be accepted: its hash does not verify, it does not link to
    its parent, or a field is malformed. `number` is the block number (None if even
    that is unreadable), `field` the field at fault ("hash" when only the hash says so).
    """

    def __init__(self, number: int | None, field: str, detail: str):
        self.number = number
        self.field = field
        self.detail = detail
        where = f"block {number}" if number is not None else "block (number unreadable)"
        super().__init__(f"{where}: {field}: {detail}")


# --- field catalogue ------------------------------------------------------------------
# kind: "int" quantity; "bytes<N>" fixed-length byte string; "bytes" any length.
FIELD_KINDS: dict[str, str] = {
    "number": "int",
    "hash": "bytes32",
    "parent_hash": "bytes32",
    "sha3_uncles": "bytes32",
    "miner": "bytes20",
    "state_root": "bytes32",
    "transactions_root": "bytes32",
    "receipts_root": "bytes32",
    "logs_bloom": "bytes256",
    "difficulty": "int",
    "gas_limit": "int",
    "gas_used": "int",
    "timestamp": "int",
    "extra_data": "bytes",
    "mix_hash": "bytes32",
    "nonce": "bytes8",
    "base_fee_per_gas": "int",
    "withdrawals_root": "bytes32",
    "blob_gas_used": "int",
    "excess_blob_gas": "int",
    "parent_beacon_block_root": "bytes32",
    "requests_hash": "bytes32",
}
OPTIONAL_FIELDS = ("withdrawals_root", "blob_gas_used", "excess_blob_gas", "parent_beacon_block_root", "requests_hash")

# Accepted spellings: JSON-RPC camelCase, our snake_case, and the Fossil indexer's
# `blockheaders` column names.
ALIASES: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "hash": ("hash", "block_hash", "blockHash"),
    "parent_hash": ("parentHash", "parent_hash"),
    "sha3_uncles": ("sha3Uncles", "sha3_uncles"),
    "miner": ("miner", "coinbase", "beneficiary"),
    "state_root": ("stateRoot", "state_root"),
    "transactions_root": ("transactionsRoot", "transactions_root", "transaction_root"),
    "receipts_root": ("receiptsRoot", "receipts_root"),
    "logs_bloom": ("logsBloom", "logs_bloom"),
    "difficulty": ("difficulty",),
    "gas_limit": ("gasLimit", "gas_limit"),
    "gas_used": ("gasUsed", "gas_used"),
    "timestamp": ("timestamp",),
    "extra_data": ("extraData", "extra_data"),
    "mix_hash": ("mixHash", "mix_hash", "prevRandao"),
    "nonce": ("nonce",),
    "base_fee_per_gas": ("baseFeePerGas", "base_fee_per_gas"),
    "withdrawals_root": ("withdrawalsRoot", "withdrawals_root"),
    "blob_gas_used": ("blobGasUsed", "blob_gas_used"),
    "excess_blob_gas": ("excessBlobGas", "excess_blob_gas"),
    "parent_beacon_block_root": ("parentBeaconBlockRoot", "parent_beacon_block_root"),
    "requests_hash": ("requestsHash", "requests_hash"),
}
RPC_NAMES: dict[str, str] = {field: names[0] for field, names in ALIASES.items()}

LONDON_FIELDS = (
    "parent_hash",
    "sha3_uncles",
    "miner",
    "state_root",
    "transactions_root",
    "receipts_root",
    "logs_bloom",
    "difficulty",
    "number",
    "gas_limit",
    "gas_used",
    "timestamp",
    "extra_data",
    "mix_hash",
    "nonce",
    "base_fee_per_gas",
)
SHANGHAI_FIELDS = LONDON_FIELDS + ("withdrawals_root",)
CANCUN_FIELDS = SHANGHAI_FIELDS + ("blob_gas_used", "excess_blob_gas", "parent_beacon_block_root")
PRAGUE_FIELDS = CANCUN_FIELDS + ("requests_hash",)
FORK_FIELDS: dict[str, tuple[str, ...]] = {
    "london": LONDON_FIELDS,
    "shanghai": SHANGHAI_FIELDS,
    "cancun": CANCUN_FIELDS,
    "prague": PRAGUE_FIELDS,
}
FORKS = tuple(FORK_FIELDS)


# --- normalisation --------------------------------------------------------------------
def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a quantity")
    if isinstance(value, int):
        result = value
    elif isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ValueError(f"{value} is not an integer")
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text[:2] in ("0x", "0X"):
            digits = text[2:]
            if not digits:
                raise ValueError(f"{value!r} has no hex digits")
            result = int(digits, 16)
        elif text.isdigit():
            result = int(text)
        else:
            raise ValueError(f"{value!r} is neither 0x-hex nor a decimal integer")
    else:
        raise ValueError(f"{type(value).__name__} is not a quantity")
    if result < 0:
        raise ValueError(f"{result} is negative")
    return result


_HEX = frozenset("0123456789abcdef")


def _parse_bytes(value: Any, size: int | None) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = "0x" + bytes(value).hex()
    elif isinstance(value, str):
        text = value.strip().lower()
        if not text.startswith("0x"):
            raise ValueError(f"{value!r} is not 0x-prefixed hex")
    else:
        raise ValueError(f"{type(value).__name__} is not a hex byte string")
    digits = text[2:]
    if len(digits) % 2 or not _HEX.issuperset(digits):
        raise ValueError(f"{value!r} is not an even-length hex byte string")
    if size is not None and len(digits) != 2 * size:
        raise ValueError(f"expected {size} bytes, got {len(digits) // 2}")
    return text


def normalise_header(block: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a block object (JSON-RPC camelCase, snake_case or indexer row) to a
    header dict keyed by model field names. Raises HeaderMismatch for malformed fields."""
    if not isinstance(block, Mapping):
        raise HeaderMismatch(None, "block", f"expected a JSON object, got {type(block).__name__}")
    number: int | None = None
    raw_number = block.get("number")
    if raw_number is not None:
        try:
            number = _parse_int(raw_number)
        except ValueError as exc:
            raise HeaderMismatch(None, "number", str(exc)) from None
    header: dict[str, Any] = {}
    for field, names in ALIASES.items():
        value = None
        for name in names:
            value = block.get(name)
            if value is not None:
                break
        if value is None:
            if field in OPTIONAL_FIELDS:
                header[field] = None
                continue
            if field == "base_fee_per_gas":
                raise HeaderMismatch(number, field, "missing: pre-London headers (no base fee) are not supported")
            raise HeaderMismatch(number, field, "missing")
        kind = FIELD_KINDS[field]
        try:
            if kind == "int":
                header[field] = _parse_int(value)
            else:
                size = int(kind[5:]) if len(kind) > 5 else None
                header[field] = _parse_bytes(value, size)
        except ValueError as exc:
            raise HeaderMismatch(number, field, str(exc)) from None
    fork_of(header)  # rejects impossible field combinations
    return header


def fork_of(header: Mapping[str, Any]) -> str:
    """The fork whose header shape this is, from the optional fields present."""
    present = [f for f in OPTIONAL_FIELDS if header.get(f) is not None]
    for fork in reversed(FORKS):
        extra = FORK_FIELDS[fork][len(LONDON_FIELDS) :]
        if set(present) == set(extra):
            return fork
    number = header.get("number")
    raise HeaderMismatch(
        number if isinstance(number, int) else None,
        "fields",
        f"optional fields {present} do not form a London/Shanghai/Cancun/Prague header",
    )


# --- RLP and hashing ------------------------------------------------------------------
def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def rlp_fields(header: Mapping[str, Any]) -> list[bytes]:
    """The header's RLP items, in consensus order for its fork."""
    items = []
    for field in FORK_FIELDS[fork_of(header)]:
        value = header[field]
        if FIELD_KINDS[field] == "int":
            items.append(_int_bytes(value))
        else:
            items.append(bytes.fromhex(value[2:]))
    return items


def encode_header(header: Mapping[str, Any]) -> bytes:
    return rlp.encode(rlp_fields(header))


def compute_block_hash(header: Mapping[str, Any]) -> str:
    """keccak-256 of the RLP-encoded header, as 0x-hex. Accepts raw or normalised input."""
    if "parent_hash" not in header or not isinstance(header.get("number"), int):
        header = normalise_header(header)
    return "0x" + keccak(encode_header(header)).hex()


def verify_header(header: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise `header` and check that its declared hash is the keccak of its RLP.
    Returns the normalised header; raises HeaderMismatch naming the block otherwise."""
    normal = normalise_header(header)
    computed = "0x" + keccak(encode_header(normal)).hex()
    if computed != normal["hash"]:
        fork = fork_of(normal)
        raise HeaderMismatch(
            normal["number"],
            "hash",
            f"keccak256(rlp(header)) is {computed} but the block declares {normal['hash']}; "
            f"at least one of the {len(FORK_FIELDS[fork])} {fork.capitalize()} header fields "
            f"(or the hash) differs from what the chain committed to",
        )
    return normal


def verify_link(child: Mapping[str, Any], parent_hash: str, *, where: str = "block") -> None:
    """Raise HeaderMismatch unless child's parent_hash equals `parent_hash`."""
    if child["parent_hash"] != parent_hash:
        raise HeaderMismatch(
            child["number"],
            "parent_hash",
            f"{child['parent_hash']} does not match the hash of the {where} {child['number'] - 1} ({parent_hash})",
        )


def header_to_rpc(header: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-RPC (eth_getBlockByNumber) shape of a normalised header."""
    out: dict[str, Any] = {}
    for field, name in RPC_NAMES.items():
        value = header.get(field)
        if value is None:
            continue
        out[name] = hex(value) if FIELD_KINDS[field] == "int" else value
    return out


def next_base_fee(parent_base_fee: int, parent_gas_used: int, parent_gas_limit: int) -> int:
    """EIP-1559 base fee of the child of a (post-London) parent block."""
    target = parent_gas_limit // 2
    if target == 0 or parent_gas_used == target:
        return parent_base_fee
    if parent_gas_used > target:
        delta = max(parent_base_fee * (parent_gas_used - target) // target // 8, 1)
        return parent_base_fee + delta
    delta = parent_base_fee * (target - parent_gas_used) // target // 8
    return parent_base_fee - delta
