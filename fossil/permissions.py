"""Service-to-service authentication by HMAC signature (see fossil.signing)."""
from __future__ import annotations

from rest_framework import authentication, exceptions

from fossil.signing import HEADER, signature_is_valid


class ServiceSignatureAuthentication(authentication.BaseAuthentication):
    """Accepts a request whose body carries a valid X-Fossil-Signature; else defers."""

    def authenticate(self, request):
        header = request.META.get("HTTP_" + HEADER.upper().replace("-", "_"))
        if header is None:
            return None
        if not signature_is_valid(header, request.body):
            raise exceptions.AuthenticationFailed("invalid or expired service signature")
        return (None, "service")

    def authenticate_header(self, request):
        return HEADER
