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


class ProverKey(models.Model):
    """A public key that signs (current) or signed (retired) attested proof records.

    Only public keys live here; the private key is configuration (PROVER_PRIVATE_KEY or
    PROVER_KEY_FILE). Retired keys are kept so the records they signed still verify.
    """

    key_id = models.CharField(max_length=16, primary_key=True, help_text="first 16 hex of sha256(raw public key)")
    public_key = models.CharField(max_length=66, unique=True, help_text="0x + raw 32-byte Ed25519 public key")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    is_current = models.BooleanField(default=True)
    # A revoked (compromised) key verifies nothing, whenever it signed (handler.prover_keys).
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            # at most one current key: the one every proof machine is configured with
            models.UniqueConstraint(
                fields=["is_current"], condition=models.Q(is_current=True), name="prover_key_one_current"
            ),
            models.CheckConstraint(
                condition=models.Q(is_current=True, retired_at__isnull=True)
                | models.Q(is_current=False, retired_at__isnull=False),
                name="prover_key_retired_iff_not_current",
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | models.Q(is_current=False),
                name="prover_key_revoked_not_current",
            ),
        ]

    def __str__(self) -> str:
        return f"prover key {self.key_id} ({'current' if self.is_current else 'retired'})"
