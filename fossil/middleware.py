"""Refuse oversized request bodies with 413 before anything reads or parses them; answer a
database outage with JSON 503."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse, UnreadablePostError

from fossil.exceptions import DATABASE_UNAVAILABLE, error_body, unavailable_response_parts

logger = logging.getLogger(__name__)


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return JsonResponse(error_body("invalid", "Content-Length is not a number"), status=400)
        if length > limit:
            return JsonResponse(
                error_body("payload_too_large", f"request body of {length} bytes is over the limit of {limit} bytes"),
                status=413,
            )
        return self.get_response(request)


class UnreadableBodyMiddleware:
    """A body shorter than its Content-Length, or one that stalls (the web worker's read
    timeout), is the client's fault: 400, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, UnreadablePostError):
            return None
        message = "the request body was shorter than its Content-Length or arrived too slowly"
        return JsonResponse(error_body("invalid", message), status=400)


class DatabaseUnavailableMiddleware:
    """Postgres unreachable outside the API views (admin, plain Django views): JSON 503 with
    Retry-After instead of an HTML 500. The API views get the same answer from
    fossil.exceptions.api_exception_handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.warning("%s %s: database unavailable: %s", request.method, request.path, exception.__class__.__name__)
        body, status, headers = unavailable_response_parts()
        return JsonResponse(body, status=status, headers=headers)
