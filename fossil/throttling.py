"""Per-API-key rate limits, counted in the shared cache so every web process agrees."""
from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Limits each API key (or, for service calls, the signing service) per scope."""

    scope = "read"

    def get_rate(self):
        return settings.API_RATE_LIMITS[self.scope]

    def get_cache_key(self, request, view):
        key = request.auth
        ident = getattr(key, "prefix", None) or (key if isinstance(key, str) else self.get_ident(request))
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SubmitRateThrottle(ApiKeyRateThrottle):
    scope = "submit"
