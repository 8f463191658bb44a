"""One error shape for every API: {"status": "error", "code", "message"}, built by ErrorSerializer."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ErrorSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["error"])
    code = serializers.CharField()
    message = serializers.CharField()


class ApplicationError(Exception):
    """A domain error with an HTTP status and a stable machine code."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, status_code: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class ServiceUnavailable(ApplicationError):
    """A dependency (the database, the broker) is out: the client should try again soon."""

    status_code = 503
    code = "unavailable"


# Seconds a client is told to wait when a dependency is out.
RETRY_AFTER_SECONDS = 5
# Postgres unreachable (down, restarting, connection dropped): the client did nothing wrong.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def unavailable_response_parts() -> tuple[dict, int, dict]:
    body = error_body("unavailable", "the service is briefly unavailable; try again shortly")
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def first_error_message(detail, path: str = "") -> str:
    """Flatten DRF's nested error detail to 'field.sub: message' for the first error."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                name = path
            elif isinstance(key, int):
                name = f"{path}[{key}]"
            else:
                name = f"{path}.{key}" if path else str(key)
            return first_error_message(value, name)
    if isinstance(detail, list) and detail:
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                return first_error_message(value, f"{path}[{index}]")
        return first_error_message(detail[0], path)
    return f"{path}: {detail}" if path else str(detail)


def error_body(code: str, message: str) -> dict:
    return dict(ErrorSerializer({"status": "error", "code": code, "message": message}).data)


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status_code == 503 else {}
        return Response(error_body(exc.code, exc.message), status=exc.status_code, headers=headers)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        body, status, headers = unavailable_response_parts()
        return Response(body, status=status, headers=headers)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(error_body("invalid", first_error_message(exc.detail)), status=400)
    if isinstance(exc, drf_exceptions.APIException):
        headers = {}
        wait = getattr(exc, "wait", None)  # set by Throttled
        if wait:
            headers["Retry-After"] = str(int(wait))
        codes = exc.get_codes()  # a str, or a list/dict of them for a nested detail
        code = codes if isinstance(codes, str) else exc.default_code
        return Response(error_body(code, first_error_message(exc.detail)), status=exc.status_code, headers=headers)
    return None
