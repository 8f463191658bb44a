"""Handler HTTP APIs."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from handler.proofs.django_glue import prover_key_json


class ProverKeyApi(APIView):
    """``GET /api/prover_key``: the Ed25519 public key that signs attested proof records.

    ``{"algorithm": "ed25519", "public_key": "0x…" (32 bytes), "key_id": first 16 hex of sha256(key)}``
    """

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        return Response(prover_key_json())
