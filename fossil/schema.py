"""OpenAPI pieces shared by the APIs: the error shape and the two authentication schemes."""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["error"])
    code = serializers.CharField()
    message = serializers.CharField()


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "invalid request; the message names the field",
        401: "missing, unknown or revoked API key",
        404: "not found",
        409: "conflict",
        413: "request body too large",
        429: "rate limit exceeded for this API key",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes}


class ApiKeySchemeExtension(OpenApiAuthenticationExtension):
    target_class = "offchain.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


class ServiceSignatureSchemeExtension(OpenApiAuthenticationExtension):
    target_class = "fossil.permissions.ServiceSignatureAuthentication"
    name = "ServiceSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Fossil-Signature",
            "description": "t=<unix>,n=<nonce>,v2=<hex HMAC-SHA256 of method, path, t, nonce and body hash> "
            "with the shared service secret (docs/security.md)",
        }


def forbid_unknown_request_fields(result, generator, request, public):
    """Postprocessing hook: request bodies reject unknown fields (StrictSerializer), say so."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
