from __future__ import annotations

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.exceptions import NotFound
from fossil.permissions import ServiceSignatureAuthentication
from fossil.validation import FeltHexField, StrictIntegerField, StrictSerializer, TimeRangeField
from offchain import selectors, services
from offchain.authentication import ApiKeyAuthentication


class ClientKeyRequired:
    authentication_classes = [ApiKeyAuthentication]


class PricingParamsSerializer(StrictSerializer):
    twap = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)
    volatility = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)
    reserve_price = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)


class ClientInfoSerializer(StrictSerializer):
    client_address = FeltHexField()
    vault_address = FeltHexField()
    timestamp = StrictIntegerField(min_value=0, max_value=2**63 - 1)


class PricingDataApi(ClientKeyRequired, APIView):
    class InputSerializer(StrictSerializer):
        identifiers = serializers.ListField(child=FeltHexField(), allow_empty=False, max_length=settings.MAX_IDENTIFIERS)
        params = PricingParamsSerializer()
        client_info = ClientInfoSerializer()

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.pricing_request_submit(api_key=request.auth, **serializer.validated_data)
        body = selectors.pricing_request_status(submission.request)
        if submission.outcome == "created":
            body["message"] = "Job created and forwarded for processing"
            return Response(body, status=status.HTTP_201_CREATED)
        if submission.outcome == "pending":
            body["message"] = "Job is already being processed"
            return Response(body, status=status.HTTP_409_CONFLICT)
        if submission.outcome == "rerun":
            body["message"] = "Job failed before; it is being processed again"
        return Response(body, status=status.HTTP_200_OK)


class JobStatusApi(ClientKeyRequired, APIView):
    def get(self, request, job_id: str):
        pricing_request = selectors.pricing_request_get(job_id)
        if pricing_request is None:
            raise NotFound(f"no job with id {job_id}")
        return Response(selectors.pricing_request_status(pricing_request))


class JobGroupFinishedCallbackApi(APIView):
    """The proving service's completion callback: a hint to sync this request now."""

    authentication_classes = [ServiceSignatureAuthentication]

    def post(self, request, job_id: str):
        if request.auth != "service":
            raise NotFound("unknown endpoint")
        outcome = services.pricing_request_sync(job_id=job_id)
        return Response({"status": "ok", "job_id": job_id, "outcome": outcome})
