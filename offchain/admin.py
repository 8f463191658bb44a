from django.contrib import admin

from offchain.models import ApiKey, PricingRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PricingRequest)
class PricingRequestAdmin(ReadOnlyAdmin):
    list_display = ("job_id", "status", "run", "created_at", "forwarded_at", "completed_at")
    list_filter = ("status",)
    search_fields = ("job_id",)
    show_full_result_count = False
    date_hierarchy = "created_at"


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("name", "prefix", "created_at", "revoked_at")
    search_fields = ("name", "prefix")
    exclude = ("key_hash",)
