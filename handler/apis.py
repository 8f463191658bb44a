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


class ProverKeySerializer(serializers.Serializer):
    algorithm = serializers.ChoiceField(choices=["ed25519"])
    public_key = serializers.CharField()
    key_id = serializers.CharField()


class ProverKeyApi(APIView):
    """``GET /api/prover_key``: the Ed25519 public key that signs attested proof records.

    ``{"algorithm": "ed25519", "public_key": "0x…" (32 bytes), "key_id": first 16 hex of sha256(key)}``
    """

    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = [ApiKeyRateThrottle]

    @extend_schema(operation_id="prover_key_retrieve", responses={200: ProverKeySerializer, **error_responses(401, 429)})
    def get(self, request: Request) -> Response:
        return Response(prover_key_json())
