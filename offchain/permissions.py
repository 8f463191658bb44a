"""Service-to-service authentication by HMAC signature (see fossil.signing).

It lives in offchain, not fossil, because the replay guard writes offchain.ServiceNonce
(offchain/nonces.py) and fossil imports no app (docs/architecture.md)."""

from __future__ import annotations

import logging

from rest_framework import authentication, exceptions, permissions
from rest_framework.views import APIView

from fossil.signing import HEADER, META_KEY, TOLERANCE_SECONDS, verify
from offchain.nonces import nonce_claim

logger = logging.getLogger(__name__)

SERVICE = "service"


class ServiceSignatureAuthentication(authentication.BaseAuthentication):
    """Accepts a call carrying a valid X-Fossil-Signature made for exactly this method, path
    and body, seen for the first time; defers when the header is absent."""

    def authenticate(self, request):
        header = request.META.get(META_KEY)
        if header is None:
            return None
        signature = verify(header, method=request.method, path=request.get_full_path(), body=request.body)
        if signature is None:
            raise exceptions.AuthenticationFailed("invalid or expired service signature")
        # Remembered for as long as the timestamp would pass the window check, plus a margin.
        if not nonce_claim(signature.nonce, expires_at_unix=signature.timestamp + TOLERANCE_SECONDS + 5):
            logger.warning("refused a replayed service signature on %s %s", request.method, request.path)
            raise exceptions.AuthenticationFailed("this service signature was already used")
        return (None, SERVICE)

    def authenticate_header(self, request):
        return HEADER


class IsSignedService(permissions.BasePermission):
    """Only a correctly signed call from the other service; a client's API key is no way in."""

    def has_permission(self, request, view):
        if request.auth != SERVICE:
            raise exceptions.NotAuthenticated("this endpoint takes only signed calls between the services")
        return True


class ServiceOnly(APIView):
    """Base view of the internal endpoints: signed service calls only, never a client key."""

    authentication_classes = [ServiceSignatureAuthentication]
    permission_classes = [IsSignedService]
    throttle_classes = []
