"""Handler HTTP APIs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.schema import error_responses
from fossil.throttling import ApiKeyRateThrottle
from handler.proofs.django_glue import prover_key_json
from offchain.authentication import ApiKeyAuthentication


class PublishedKeySerializer(serializers.Serializer):
    key_id = serializers.CharField(help_text="first 16 hex digits of sha256(raw public key)")
    public_key = serializers.CharField(help_text="0x + raw 32-byte Ed25519 public key")
    public_key_pem = serializers.CharField()
    status = serializers.ChoiceField(choices=["current", "retired"])
    created_at = serializers.DateTimeField()
    retired_at = serializers.DateTimeField(allow_null=True)


class ProverKeySerializer(serializers.Serializer):
    algorithm = serializers.ChoiceField(choices=["ed25519"])
    key_id = serializers.CharField(allow_null=True, help_text="the current key's id")
    public_key = serializers.CharField(allow_null=True, help_text="the current key")
    keys = PublishedKeySerializer(many=True, help_text="current and retired keys; records name theirs by key_id")


class ProverKeyApi(APIView):
    """``GET /api/prover_key``: the Ed25519 keys that sign (current) or signed (retired) attested records.

    Retired keys stay listed so the records they signed keep verifying (docs/proofs.md).
    """

    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = [ApiKeyRateThrottle]

    @extend_schema(operation_id="prover_key_retrieve", responses={200: ProverKeySerializer, **error_responses(401, 429)})
    def get(self, request: Request) -> Response:
        return Response(prover_key_json())
