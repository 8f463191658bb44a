from __future__ import annotations

from django.contrib import admin

from fossil.admin import ReadOnlyAdmin, gwei, unix_time
from handler.models import BlockHeader, ProverKey


@admin.register(BlockHeader)
class BlockHeaderAdmin(ReadOnlyAdmin):
    """Verified block headers, read-only: they only enter through ingestion."""

    list_display = ("number", "time", "base_fee", "gas_used", "gas_limit", "hash")
    list_display_links = ("number",)
    search_fields = ("=hash", "=parent_hash")
    ordering = ("-number",)
    show_full_result_count = False
    list_per_page = 100
    readonly_fields = ("time", "base_fee")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.isdigit():  # a block number
            return queryset.filter(number=int(term)), False
        return super().get_search_results(request, queryset, term.lower())

    @admin.display(description="time", ordering="timestamp")
    def time(self, obj):
        return unix_time(obj.timestamp)

    @admin.display(description="base fee", ordering="base_fee_per_gas")
    def base_fee(self, obj):
        return gwei(obj.base_fee_per_gas)


@admin.register(ProverKey)
class ProverKeyAdmin(ReadOnlyAdmin):
    """The prover key ring, read-only: keys change only through create/rotate_prover_key."""

    list_display = ("key_id", "is_current", "created_at", "retired_at", "revoked_at", "revoked_reason", "public_key")
    ordering = ("-is_current", "-created_at")
