"""The operator console's shared pieces: read-only model admins, confirmed actions that
call services, and display helpers. The dashboard and dead-letter pages are proving's
(proving/console.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.html import format_html

from fossil.exceptions import ApplicationError

admin.site.site_header = "Fossil operator console"
admin.site.site_title = "Fossil console"
admin.site.index_title = "Jobs, requests, keys and block data"
# No "View site" link: the service has no public site; the header links the dashboard and the
# API docs instead (templates/admin/base_site.html).
admin.site.site_url = None


class ReadOnlyAdmin(admin.ModelAdmin):
    """Inspection only: rows change through services (the actions), never by hand in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def confirmed_action(*, description: str, question: str, perform):
    """An admin action that first shows a confirmation page listing the rows, and only on
    "Yes, go ahead" calls `perform(obj)` (a service call) for each; a refusal by the service
    (ApplicationError) is reported for its row and the others go on."""

    def action(modeladmin, request, queryset):
        if not request.user.is_staff:
            raise PermissionDenied
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(
                request,
                "admin/fossil/confirm_action.html",
                {
                    **modeladmin.admin_site.each_context(request),
                    "title": description,
                    "question": question,
                    "objects": list(queryset[:200]),
                    "opts": modeladmin.model._meta,
                    "action": request.POST.get("action"),
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        done, refused = 0, []
        for obj in queryset:
            try:
                perform(obj)
                done += 1
            except ApplicationError as exc:
                refused.append(f"{obj}: {exc.message}")
        if done:
            modeladmin.message_user(request, f"{description}: done for {done} row(s).", messages.SUCCESS)
        for line in refused:
            modeladmin.message_user(request, line, messages.WARNING)
        return None

    action.__name__ = description.lower().replace(" ", "_")
    return admin.action(description=description)(action)


def unix_time(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    return datetime.fromtimestamp(int(seconds), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def gwei(wei: int | None) -> str:
    if wei is None:
        return "—"
    return f"{wei / 1e9:,.4f} gwei"


def pretty_json(value) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; word-break: break-all; margin: 0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True),
    )
