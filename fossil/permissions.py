"""Service-to-service authentication by HMAC signature (see fossil.signing)."""
from __future__ import annotations

from rest_framework import authentication, exceptions, permissions

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


class IsSignedService(permissions.BasePermission):
    """Only a correctly signed call from the other service; a client's API key is no way in."""

    def has_permission(self, request, view):
        if request.auth != "service":
            raise exceptions.NotAuthenticated("this endpoint takes only signed calls between the services")
        return True


class ServiceOnly:
    """View mixin for the internal endpoints: signed service calls only, never a client key."""

    authentication_classes = [ServiceSignatureAuthentication]
    permission_classes = [IsSignedService]
    throttle_classes: list = []
