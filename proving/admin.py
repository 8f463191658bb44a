from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from fossil.admin import ReadOnlyAdmin, confirmed_action, pretty_json, unix_time
from offchain.models import PricingRequest
from proving import services
from proving.chart import job_group_chart_data, render_svg
from proving.models import Job, JobGroup, Proof


class JobInline(admin.TabularInline):
    model = Job
    fields = ("metric", "status", "attempts", "range_start", "range_end", "error_code", "error_message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="start")
    def range_start(self, obj):
        return unix_time(obj.start_timestamp)

    @admin.display(description="end")
    def range_end(self, obj):
        return unix_time(obj.end_timestamp)


class VaultFilter(admin.SimpleListFilter):
    """A group's id is its offchain request's job_id; the request names the vault."""

    title = "vault"
    parameter_name = "vault"

    def lookups(self, request, model_admin):
        vaults = PricingRequest.objects.values_list("client_info__vault_address", flat=True).distinct().order_by()[:20]
        return [(vault, f"{vault[:10]}…{vault[-4:]}") for vault in vaults if vault]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        job_ids = PricingRequest.objects.filter(client_info__vault_address=self.value()).values("job_id")
        field = "pk" if queryset.model is JobGroup else "group_id"
        return queryset.filter(**{f"{field}__in": job_ids})


def retry_group(group: JobGroup) -> None:
    services.job_group_retry(group_id=group.pk)


@admin.register(JobGroup)
class JobGroupAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "run", "succeeded_jobs", "created_at", "finished_at", "notified_at")
    list_filter = ("status", VaultFilter, "created_at")
    search_fields = ("id",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")  # newest first; the id is a hash and says nothing about time
    inlines = [JobInline]
    show_full_result_count = False
    fields = (
        "id",
        "status",
        "run",
        "error",
        "base_fee_chart",
        "pretty_result",
        "created_at",
        "finished_at",
        "notified_at",
    )
    readonly_fields = ("base_fee_chart", "pretty_result")

    class Media:
        css = {"all": ("proving/console.css",)}

    actions = [
        confirmed_action(
            description="Retry failed groups",
            question=(
                "Run the unfinished jobs of these failed groups again (fresh attempts)? "
                "The client sees the new outcome."
            ),
            perform=retry_group,
        )
    ]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(succeeded=Count("jobs", filter=Q(jobs__status=Job.Status.SUCCEEDED)))
        )

    @admin.display(description="succeeded", ordering="succeeded")
    def succeeded_jobs(self, obj):
        return f"{obj.succeeded}/3"

    @admin.display(description="base fee")
    def base_fee_chart(self, obj):
        data = job_group_chart_data(obj)
        if data is None:
            return "no block data in the jobs' range"
        return mark_safe(render_svg(data))  # render_svg escapes every label it writes

    @admin.display(description="result")
    def pretty_result(self, obj):
        return pretty_json(obj.result) if obj.result is not None else "—"


class ErrorCodeFilter(admin.SimpleListFilter):
    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request, model_admin):
        codes = (
            Job.objects.exclude(error_code="").values_list("error_code", flat=True).distinct().order_by("error_code")
        )
        return [("", "(none)")] + [(code, code) for code in codes[:50]]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(error_code=self.value())


def retry_job(job: Job) -> None:
    services.job_retry(job_id=job.pk)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "group",
        "metric",
        "status",
        "attempts",
        "error_code",
        "range_start",
        "range_end",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "metric", ErrorCodeFilter, VaultFilter, "created_at")
    list_select_related = ("group",)
    search_fields = ("=id", "group__id", "error_message")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")
    show_full_result_count = False
    exclude = ("result",)
    readonly_fields = ("range_start", "range_end", "pretty_result")
    actions = [
        confirmed_action(
            description="Retry failed jobs",
            question="Run these jobs again with fresh attempts (their groups run again)?",
            perform=retry_job,
        )
    ]

    @admin.display(description="start", ordering="start_timestamp")
    def range_start(self, obj):
        return unix_time(obj.start_timestamp)

    @admin.display(description="end", ordering="end_timestamp")
    def range_end(self, obj):
        return unix_time(obj.end_timestamp)

    @admin.display(description="result")
    def pretty_result(self, obj):
        return pretty_json(obj.result) if obj.result is not None else "—"


@admin.register(Proof)
class ProofAdmin(ReadOnlyAdmin):
    list_display = ("job", "kind", "image_id", "claim_digest", "created_at")
    list_filter = ("kind", "created_at")
    list_select_related = ("job",)
    search_fields = ("claim_digest", "=job__id")
    ordering = ("-created_at", "-pk")
    exclude = ("journal", "record")
    readonly_fields = ("journal_hex", "pretty_record")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("journal")

    @admin.display(description="journal")
    def journal_hex(self, obj):
        return format_html("<code style='word-break: break-all'>0x{}</code>", bytes(obj.journal).hex())

    @admin.display(description="proof record")
    def pretty_record(self, obj):
        return pretty_json(obj.record)
