from __future__ import annotations

import re

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.api_tags import CLIENT_TAG
from fossil.exceptions import NotFound
from fossil.schema import CalldataErrorSerializer, MetricResultSerializer, ProofRecordSerializer, error_responses
from fossil.validation import FeltHexField, StrictIntegerField, StrictSerializer, TimeRangeField, validate_min_range
from handler.availability import range_without_data
from handler.pricing.series import min_range_seconds
from handler.round_jobs import vault_round_problem
from offchain import selectors, services
from offchain.authentication import ApiKeyAuthentication
from offchain.permissions import ServiceSignatureAuthentication
from offchain.throttling import ApiKeyRateThrottle, SubmitRateThrottle

_JOB_ID = re.compile(r"[0-9a-f]{64}")


class PricingParamsSerializer(StrictSerializer):
    """The time range of each metric, as [start, end] unix seconds; unknown fields are refused."""

    twap = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)
    volatility = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)
    reserve_price = TimeRangeField(max_seconds=settings.MAX_RANGE_SECONDS)

    # The shortest priceable ranges (README, "Round lengths"): the metric's bucket rule needs enough
    # buckets; and a range with no block data now is refused here, not failed after queueing.
    def validate_twap(self, value):
        return validate_has_data(validate_min_range(value, min_range_seconds("twap")))

    def validate_volatility(self, value):
        return validate_has_data(validate_min_range(value, min_range_seconds("max_return")))

    def validate_reserve_price(self, value):
        return validate_has_data(validate_min_range(value, min_range_seconds("reserve_price")))


def validate_has_data(value: list[int]) -> list[int]:
    problem = range_without_data(*value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


class ClientInfoSerializer(StrictSerializer):
    """Who asks: the client's and the vault's Starknet addresses, and the client's timestamp."""

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


# A metric's verify_proof calldata, or why its proof gives none (stored with the proof, docs/proofs.md).
METRIC_CALLDATA_SCHEMA = {
    "oneOf": [
        {"type": "array", "items": {"type": "string"}, "description": "[len(P)] + P + job_request, hex felts"},
        {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["code", "message"],
                    "additionalProperties": False,
                }
            },
            "required": ["error"],
            "additionalProperties": False,
        },
    ]
}


@extend_schema_field(METRIC_CALLDATA_SCHEMA)
class MetricCalldataField(serializers.Field):
    def to_representation(self, value):
        if isinstance(value, dict):
            return {"error": CalldataErrorSerializer(value["error"]).data}
        return [str(felt) for felt in value]


class CompositionSerializer(serializers.Serializer):
    journal = serializers.CharField(allow_null=True, help_text="the 16-field composition journal, 0x hex")
    proof = ProofRecordSerializer(allow_null=True, help_text="the provider's record over the journal")
    verify_proof_calldata = MetricCalldataField(
        required=False,
        help_text="the vault verifier's verify_proof calldata: present for a vault round proved by the "
        "coprocessor's programs (docs/proofs.md)",
    )


class StarknetSerializer(serializers.Serializer):  # handler.proofs.coprocessor.starknet.job_status_starknet
    """What the vault's Starknet contracts take: the verifier data, the job request and, for Groth16 proofs,
    the calldata of each metric's verify_proof call."""

    verifier_data = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="null when the journals give no vault result"
    )
    job_request = serializers.ListField(child=serializers.CharField())
    verify_proof_selector = serializers.CharField()
    verify_proof_calldata = serializers.DictField(
        child=MetricCalldataField(), allow_null=True, help_text="per metric (Groth16 only)"
    )
    note = serializers.CharField(allow_null=True)


class StarknetUnavailableSerializer(serializers.Serializer):
    """The stored proofs give no Starknet block at all (the request itself completed)."""

    error = CalldataErrorSerializer()


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="StarknetBlock",
        serializers=[StarknetSerializer, StarknetUnavailableSerializer],
        resource_type_field_name=None,
    )
)
class StarknetBlockField(serializers.Field):
    def to_representation(self, value):
        if "error" in value:
            return StarknetUnavailableSerializer(value).data
        return StarknetSerializer(value).data


class JobStatusSerializer(serializers.Serializer):
    """A pricing request's status; the results, proofs and Starknet data only once it completed."""

    job_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["Pending", "Completed", "Failed"])
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    error = serializers.CharField(required=False, help_text="plain message of a failure")
    error_code = serializers.CharField(
        required=False,
        help_text="stable code of a failure (docs/api.md, Failure codes): no_data, insufficient_data, "
        "data_verification_failed, proof_rejected, prover_unavailable, time_limit, cancelled, internal_error, "
        "proving_service_unavailable, proving_service_refused, job_failed",
    )
    completed_at = serializers.DateTimeField(required=False, allow_null=True)
    results = ResultsByMetricSerializer(required=False)
    job_request = serializers.ListField(child=serializers.CharField(), required=False)
    vault_result = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    receipts = ReceiptsByMetricSerializer(required=False)
    composition = CompositionSerializer(required=False)
    starknet = StarknetBlockField(required=False)
    rules = serializers.CharField(
        required=False,
        help_text="what priced the results: 'engine', or 'pitchlake-coprocessor:<profile>' for a vault round",
    )
    verifiable_on_chain = serializers.BooleanField(
        required=False, help_text="whether the composition proof is one the vault's Starknet verifier accepts"
    )
    not_verifiable_reason = serializers.CharField(required=False, help_text="why not, when it is not")


class ClientKeyRequired(APIView):
    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = [ApiKeyRateThrottle]


class PricingDataApi(ClientKeyRequired, APIView):
    throttle_classes = [SubmitRateThrottle]

    class InputSerializer(StrictSerializer):
        """A pricing request: the vault's identifiers, the time range of each metric, and who asks."""

        identifiers = serializers.ListField(
            child=FeltHexField(), allow_empty=False, max_length=settings.MAX_IDENTIFIERS
        )
        params = PricingParamsSerializer()
        client_info = ClientInfoSerializer()
        verifiable_on_chain = serializers.BooleanField(
            required=False,
            help_text="true: the request must be a vault round (docs/proofs.md), else 400 naming the range",
        )

        def validate(self, attrs):
            if attrs.get("verifiable_on_chain"):
                problem = vault_round_problem(attrs["params"])
                if problem is not None:
                    field, reason = problem
                    raise serializers.ValidationError({"params": {field: [reason]}})
            return attrs

    InputSerializer.__name__ = "PricingDataInputSerializer"

    @extend_schema(
        operation_id="pricing_data_create",
        tags=[CLIENT_TAG],
        summary="Submit a pricing request",
        description=(
            "Asks for the TWAP, the max return and the reserve price over the given time ranges, each "
            "computed from the block base fees and proven. The job id is derived from the request, so "
            "posting the same request again is safe: it answers the request's status (201 when new and "
            "queued, 409 while it is worked on, 200 with the results once completed, or 200 when a failed "
            "request runs again). Follow it with `GET /job_status/{job_id}`."
        ),
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
        data = dict(serializer.validated_data)
        data.pop("verifiable_on_chain", None)  # a check on the shape only: the same request either way
        submission = services.pricing_request_submit(api_key=request.auth, **data)
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
    @extend_schema(
        operation_id="job_status_retrieve",
        tags=[CLIENT_TAG],
        summary="Follow a pricing request",
        description=(
            "The status of a request submitted with this API key: Pending, Failed (with a stable "
            "`error_code`), or Completed with the results, their proofs and the data the vault's Starknet "
            "contracts take. A job id of another key answers 404, like one that does not exist."
        ),
        responses={200: JobStatusSerializer, **error_responses(401, 404, 429)},
    )
    def get(self, request, job_id: str):
        # Another key's request answers exactly like one that does not exist.
        pricing_request = None
        if _JOB_ID.fullmatch(job_id):
            pricing_request = selectors.pricing_request_get(job_id, api_key=request.auth)
        if pricing_request is None:
            raise NotFound("no job with this id")
        return Response(JobStatusSerializer(selectors.pricing_request_status(pricing_request)).data)


class CallbackAcceptedSerializer(serializers.Serializer):
    """The completion hint was taken: the sync runs in a task."""

    status = serializers.ChoiceField(choices=["accepted"])
    job_id = serializers.CharField()


@extend_schema(exclude=True)  # service-to-service only
class JobGroupFinishedCallbackApi(APIView):
    """The proving service's completion callback: a hint to sync this request now."""

    authentication_classes = [ServiceSignatureAuthentication]

    def post(self, request, job_id: str):
        if request.auth != "service":
            raise exceptions.NotAuthenticated("missing X-Fossil-Signature header")
        # Only the hint is taken here; the sync (a call back to the proving service, maybe
        # this very server) runs in a task, so no web worker waits on another.
        services.pricing_request_sync_soon(job_id=job_id)
        body = CallbackAcceptedSerializer({"status": "accepted", "job_id": job_id}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
