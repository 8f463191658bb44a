from django.contrib import admin
from django.db.models import Count, Q

from fossil.admin import ReadOnlyAdmin
from proving.models import Job, JobGroup, Proof


class JobInline(admin.TabularInline):
    model = Job
    fields = ("metric", "status", "attempts", "start_timestamp", "end_timestamp", "error_code", "error_message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JobGroup)
class JobGroupAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "run", "succeeded_jobs", "created_at", "finished_at", "notified_at")
    list_filter = ("status",)
    search_fields = ("id",)
    inlines = [JobInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            succeeded=Count("jobs", filter=Q(jobs__status=Job.Status.SUCCEEDED))
        )

    @admin.display(description="succeeded", ordering="succeeded")
    def succeeded_jobs(self, obj):
        return f"{obj.succeeded}/3"


class HasErrorFilter(admin.SimpleListFilter):
    title = "error"
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return (("yes", "with an error"), ("no", "without"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(error_code="")
        if self.value() == "no":
            return queryset.filter(error_code="")
        return queryset


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "group", "metric", "status", "attempts", "error_code", "started_at", "finished_at")
    list_filter = ("status", "metric", HasErrorFilter)
    list_select_related = ("group",)
    search_fields = ("=id", "group__id")
    show_full_result_count = False


@admin.register(Proof)
class ProofAdmin(ReadOnlyAdmin):
    list_display = ("job", "kind", "image_id", "claim_digest", "created_at")
    list_filter = ("kind",)
    list_select_related = ("job",)
    search_fields = ("claim_digest", "=job__id")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("journal")
