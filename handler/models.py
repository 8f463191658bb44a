from __future__ import annotations

from django.db import models


class BlockHeader(models.Model):
    """An Ethereum block header with every field needed to recompute its hash.

    Hashes and roots are 0x-prefixed lowercase hex; optional fork fields are null for
    blocks before the fork that introduced them.
    """

    number = models.BigIntegerField(primary_key=True)
    hash = models.CharField(max_length=66, unique=True)
    parent_hash = models.CharField(max_length=66)
    timestamp = models.BigIntegerField()
    base_fee_per_gas = models.BigIntegerField()
    gas_limit = models.BigIntegerField()
    gas_used = models.BigIntegerField()
    sha3_uncles = models.CharField(max_length=66)
    miner = models.CharField(max_length=42)
    state_root = models.CharField(max_length=66)
    transactions_root = models.CharField(max_length=66)
    receipts_root = models.CharField(max_length=66)
    logs_bloom = models.CharField(max_length=514)
    difficulty = models.DecimalField(max_digits=78, decimal_places=0)
    extra_data = models.TextField()
    mix_hash = models.CharField(max_length=66)
    nonce = models.CharField(max_length=18)
    withdrawals_root = models.CharField(max_length=66, null=True, blank=True)
    blob_gas_used = models.BigIntegerField(null=True, blank=True)
    excess_blob_gas = models.BigIntegerField(null=True, blank=True)
    parent_beacon_block_root = models.CharField(max_length=66, null=True, blank=True)
    requests_hash = models.CharField(max_length=66, null=True, blank=True)

    class Meta:
        indexes = [
            # Covering index for the per-bucket aggregation (handler.selectors): an
            # index-only range scan on timestamp that also yields the base fee.
            models.Index(fields=["timestamp"], include=["base_fee_per_gas"], name="handler_bh_ts_fee_idx"),
        ]

    def __str__(self) -> str:
        return f"block {self.number}"
