"""The operator console's pages beyond the model admins: the dashboard and the dead letters
(URLs in proving/console_urls.py, behind the admin's login)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from fossil.exceptions import ApplicationError
from proving import dead_letters
from proving.selectors import dashboard


def dashboard_view(request):
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "now": timezone.now(),
        **dashboard(timezone.now()),
    }
    return TemplateResponse(request, "admin/fossil/dashboard.html", context)


def dead_letters_view(request):
    """Queue and dead-letter depths; requeueing a queue's dead letters asks first."""
    if request.method == "POST":
        queue = request.POST.get("queue", "")
        if request.POST.get("confirmed") == "yes":
            try:
                result = dead_letters.dead_letters_requeue(queue)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request, f"requeued {result.moved} message(s) to {queue}; skipped {result.skipped} non-Celery"
                )
            return redirect("admin-dead-letters")
        try:
            summaries = dead_letters.dead_letters_peek(queue, limit=50)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("admin-dead-letters")
        return TemplateResponse(
            request,
            "admin/fossil/confirm_requeue.html",
            {
                **admin.site.each_context(request),
                "title": f"Requeue the dead letters of {queue}?",
                "queue": queue,
                "summaries": summaries,
            },
        )
    try:
        depths = dead_letters.queue_depths()
        error = None
    except Exception as exc:  # the broker is down: say so instead of a server error
        depths, error = [], f"the queues cannot be read now ({exc.__class__.__name__})"
    return TemplateResponse(
        request,
        "admin/fossil/dead_letters.html",
        {
            **admin.site.each_context(request),
            "title": "Dead letters",
            "depths": depths,
            "error": error,
            "prefix": settings.SQS_QUEUE_PREFIX,
        },
    )
