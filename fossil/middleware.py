"""Refuse oversized request bodies with 413 before anything reads or parses them."""
from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from fossil.exceptions import error_body


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
