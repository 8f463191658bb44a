from django.contrib import admin

from fossil.admin import ReadOnlyAdmin
from offchain.models import ApiKey, PricingRequest


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
