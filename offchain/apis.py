from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.exceptions import NotFound
from fossil.permissions import ServiceSignatureAuthentication
from fossil.schema import MetricResultSerializer, ProofRecordSerializer, error_responses
from fossil.throttling import ApiKeyRateThrottle, SubmitRateThrottle
from fossil.validation import FeltHexField, StrictIntegerField, StrictSerializer, TimeRangeField, validate_min_range
from handler.pricing.series import min_range_seconds
from offchain import selectors, services
from offchain.authentication import ApiKeyAuthentication


class PricingParamsSerializer(StrictSerializer):
    twap = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)
    volatility = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)
    reserve_price = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)

    # The shortest priceable ranges (README, "Round lengths"): the metric's bucket rule needs enough buckets.
    def validate_twap(self, value):
        return validate_min_range(value, min_range_seconds("twap"))

    def validate_volatility(self, value):
        return validate_min_range(value, min_range_seconds("max_return"))

    def validate_reserve_price(self, value):
        return validate_min_range(value, min_range_seconds("reserve_price"))


class ClientInfoSerializer(StrictSerializer):
    client_address = FeltHexField()
    vault_address = FeltHexField()
    timestamp = StrictIntegerField(min_value=0, max_value=2**63 - 1)


class ResultsByMetricSerializer(serializers.Serializer):
    twap = MetricResultSerializer()
    reserve_price = MetricResultSerializer()
    max_return = MetricResultSerializer()


class ReceiptsByMetricSerializer(serializers.Serializer):
    twap = ProofRecordSerializer(allow_null=True)
    reserve_price = ProofRecordSerializer(allow_null=True)
    max_return = ProofRecordSerializer(allow_null=True)


class CompositionSerializer(serializers.Serializer):
    journal = serializers.CharField(allow_null=True, help_text="the 16-field composition journal, 0x hex")
    proof = ProofRecordSerializer(allow_null=True, help_text="the provider's record over the journal")


class StarknetSerializer(serializers.Serializer):
    """handler.proofs.starknet.job_status_starknet: what the vault's contracts take."""

    verifier_data = serializers.ListField(child=serializers.CharField())
    job_request = serializers.ListField(child=serializers.CharField())
    verify_proof_selector = serializers.CharField()
    verify_proof_calldata = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), allow_null=True, help_text="per metric (Groth16 only)"
    )
    note = serializers.CharField(allow_null=True)


class JobStatusSerializer(serializers.Serializer):
    """What /pricing_data and /job_status answer (results only once completed)."""

    job_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["Pending", "Completed", "Failed"])
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    error = serializers.CharField(required=False)
    completed_at = serializers.DateTimeField(required=False, allow_null=True)
    results = ResultsByMetricSerializer(required=False)
    job_request = serializers.ListField(child=serializers.CharField(), required=False)
    vault_result = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    receipts = ReceiptsByMetricSerializer(required=False)
    composition = CompositionSerializer(required=False)
    starknet = StarknetSerializer(required=False)


class ClientKeyRequired(APIView):
    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = [ApiKeyRateThrottle]


class PricingDataApi(ClientKeyRequired, APIView):
    throttle_classes = [SubmitRateThrottle]

    class InputSerializer(StrictSerializer):
        """A pricing request (docs/architecture.md)."""

        identifiers = serializers.ListField(child=FeltHexField(), allow_empty=False, max_length=settings.MAX_IDENTIFIERS)
        params = PricingParamsSerializer()
        client_info = ClientInfoSerializer()

    InputSerializer.__name__ = "PricingDataInputSerializer"

    @extend_schema(
        operation_id="pricing_data_create",
        request=InputSerializer,
        responses={
            201: OpenApiResponse(JobStatusSerializer, description="new request, queued"),
            200: OpenApiResponse(JobStatusSerializer, description="completed (with results), or failed and run again"),
            409: OpenApiResponse(JobStatusSerializer, description="the same request is still pending"),
            **error_responses(400, 401, 413, 429),
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.pricing_request_submit(api_key=request.auth, **serializer.validated_data)
        body = selectors.pricing_request_status(submission.request)
        if submission.outcome == "created":
            body["message"] = "Job created and forwarded for processing"
            return Response(JobStatusSerializer(body).data, status=status.HTTP_201_CREATED)
        if submission.outcome == "pending":
            body["message"] = "Job is already being processed"
            return Response(JobStatusSerializer(body).data, status=status.HTTP_409_CONFLICT)
        if submission.outcome == "rerun":
            body["message"] = "Job failed before; it is being processed again"
        return Response(JobStatusSerializer(body).data, status=status.HTTP_200_OK)


class JobStatusApi(ClientKeyRequired, APIView):
    @extend_schema(operation_id="job_status_retrieve", responses={200: JobStatusSerializer, **error_responses(401, 404, 429)})
    def get(self, request, job_id: str):
        pricing_request = selectors.pricing_request_get(job_id)
        if pricing_request is None:
            raise NotFound(f"no job with id {job_id}")
        return Response(JobStatusSerializer(selectors.pricing_request_status(pricing_request)).data)


@extend_schema(exclude=True)  # service-to-service only
class JobGroupFinishedCallbackApi(APIView):
    """The proving service's completion callback: a hint to sync this request now."""

    authentication_classes = [ServiceSignatureAuthentication]

    def post(self, request, job_id: str):
        if request.auth != "service":
            raise exceptions.NotAuthenticated("missing X-Fossil-Signature header")
        outcome = services.pricing_request_sync(job_id=job_id)
        return Response({"status": "ok", "job_id": job_id, "outcome": outcome})
