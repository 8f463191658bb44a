"""The answers to a request that went wrong outside an API view's own error handling (no URL
matched, PermissionDenied, a CSRF refusal, an uncaught exception): a console page in the
console's style under /admin/, the API's JSON error shape everywhere else.

The page is rendered without a request context, so a broken database or session cannot break
the error page itself."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from fossil import log_context
from fossil.exceptions import error_body

CONSOLE_PREFIX = "/admin"

TITLES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 500: "Server error"}
CODES = {400: "bad_request", 403: "permission_denied", 404: "not_found", 500: "server_error"}


def is_console(request) -> bool:
    return request.path == CONSOLE_PREFIX or request.path.startswith(CONSOLE_PREFIX + "/")


def error_response(request, status: int, console_message: str, api_message: str) -> HttpResponse:
    request_id = log_context.get("request_id")
    if not is_console(request):
        return JsonResponse(error_body(CODES[status], api_message), status=status)
    page = render_to_string(
        "fossil/error_page.html",
        {
            "status": status,
            "title": TITLES[status],
            "message": console_message,
            "path": request.path,
            "request_id": request_id,
        },
    )
    return HttpResponse(page, status=status)


def bad_request(request, exception=None):
    return error_response(request, 400, "The request could not be understood.", "the request could not be understood")


def permission_denied(request, exception=None):
    return error_response(
        request,
        403,
        "Your account may not open this page. Ask an administrator for the permission, or log in as another user.",
        "permission denied",
    )


def page_not_found(request, exception=None):
    return error_response(
        request,
        404,
        "There is no console page at this address: it may have moved, or the object was deleted.",
        "no such endpoint; the API is described at /api/docs",
    )


def server_error(request):
    return error_response(
        request,
        500,
        "Something went wrong on the server. The details are in the server log under the request id below.",
        "internal error; report the X-Request-ID header of this response",
    )


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a login or action form that expired (or was posted from elsewhere)."""
    return error_response(
        request,
        403,
        "The form expired or was not sent from this console (CSRF check). Go back, reload the page and try again.",
        "CSRF check failed",
    )
