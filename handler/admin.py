from __future__ import annotations

from django.contrib import admin

from fossil.admin import ReadOnlyAdmin
from handler.models import BlockHeader, ProverKey


@admin.register(BlockHeader)
class BlockHeaderAdmin(ReadOnlyAdmin):
    """Verified block headers, read-only: they only enter through ingestion."""

    list_display = ("number", "timestamp", "base_fee_per_gas", "gas_used", "gas_limit", "hash")
    list_display_links = ("number",)
    search_fields = ("=hash", "=parent_hash")
    ordering = ("-number",)
    show_full_result_count = False
    list_per_page = 100

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.isdigit():  # a block number
            return queryset.filter(number=int(term)), False
        return super().get_search_results(request, queryset, term.lower())



@admin.register(ProverKey)
class ProverKeyAdmin(ReadOnlyAdmin):
    """The prover key ring, read-only: keys change only through create/rotate_prover_key."""

    list_display = ("key_id", "is_current", "created_at", "retired_at", "public_key")
    ordering = ("-is_current", "-created_at")
