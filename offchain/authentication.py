"""X-API-Key authentication, as the reference offchain processor's clients send it."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from offchain.selectors import api_key_for


class ApiKeyAuthentication(authentication.BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        raw_key = request.META.get(self.header)
        if not raw_key:
            raise exceptions.NotAuthenticated("missing X-API-Key header")
        key = api_key_for(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed("unknown or revoked API key")
        return (None, key)

    def authenticate_header(self, request):
        return "X-API-Key"
