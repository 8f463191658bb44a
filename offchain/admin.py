from django.contrib import admin
from django.db.models import Q

from fossil.admin import ReadOnlyAdmin, confirmed_action, pretty_json
from offchain.models import ApiKey, PricingRequest
from offchain.services import api_key_revoke


@admin.register(PricingRequest)
class PricingRequestAdmin(ReadOnlyAdmin):
    list_display = ("job_id", "status", "run", "vault", "created_at", "forwarded_at", "completed_at")
    list_filter = ("status", "created_at")
    search_fields = ("job_id",)
    show_full_result_count = False
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")
    exclude = ("results", "params", "client_info", "identifiers")
    readonly_fields = ("pretty_request", "pretty_results")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.startswith("0x") and len(term) > 20:  # a vault or client address
            by_address = queryset.filter(
                Q(client_info__vault_address__iexact=term) | Q(client_info__client_address__iexact=term)
            )
            return by_address | queryset.filter(job_id=term), False
        return super().get_search_results(request, queryset, term)

    @admin.display(description="vault")
    def vault(self, obj):
        vault = (obj.client_info or {}).get("vault_address", "")
        return f"{vault[:10]}…{vault[-4:]}" if vault else "—"

    @admin.display(description="request")
    def pretty_request(self, obj):
        return pretty_json({"identifiers": obj.identifiers, "params": obj.params, "client_info": obj.client_info})

    @admin.display(description="results")
    def pretty_results(self, obj):
        return pretty_json(obj.results) if obj.results is not None else "—"


def revoke_key(key: ApiKey) -> None:
    api_key_revoke(prefix=key.prefix)


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("name", "prefix", "created_at", "revoked_at")
    ordering = ("-created_at", "-pk")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "prefix")
    exclude = ("key_hash",)
    actions = [
        confirmed_action(
            description="Revoke keys",
            question="Revoke these API keys? Clients using them get 401 from now on; this cannot be undone.",
            perform=revoke_key,
        )
    ]
