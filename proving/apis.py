from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.api_tags import CLIENT_TAG, INTERNAL_TAG
from fossil.exceptions import ApplicationError, NotFound, first_error_message
from fossil.schema import (
    STARKNET_CALLDATA_HELP,
    MetricResultSerializer,
    ProofRecordSerializer,
    StarknetCalldataSerializer,
    error_responses,
)
from fossil.validation import StrictIntegerField, StrictSerializer
from handler.availability import range_without_data
from handler.proofs.django_glue import prover_key_json
from offchain.authentication import ApiKeyAuthentication
from offchain.permissions import ServiceOnly
from offchain.throttling import ApiKeyRateThrottle
from proving import selectors, services
from proving.models import METRICS, Job, JobGroup

# \A…\Z, not ^…$: "$" also matches before a final newline.
_GROUP_ID = re.compile(r"\A[0-9A-Za-z_x-]{1,66}\Z")


class JobCreatedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["success", "error"])
    message = serializers.CharField()
    job_group_id = serializers.CharField(allow_null=True)


class JobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    metric = serializers.ChoiceField(choices=METRICS)
    start_timestamp = serializers.IntegerField()
    end_timestamp = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Job.Status.values)
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    error_code = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)
    result = MetricResultSerializer(allow_null=True)
    proof = ProofRecordSerializer(allow_null=True)
    starknet_calldata = StarknetCalldataSerializer(allow_null=True, help_text=STARKNET_CALLDATA_HELP)


class GroupResultSerializer(serializers.Serializer):  # proving.composition.group_result
    """A finished group's combined result: the vault's felts and the composition journal with its proof."""

    vault_result = serializers.ListField(child=serializers.CharField(), help_text="the 9 felts for fossil_callback")
    composition_journal = serializers.CharField()
    composition_proof = ProofRecordSerializer(allow_null=True)


class JobGroupSerializer(serializers.Serializer):
    job_group_id = serializers.CharField()
    status = serializers.ChoiceField(choices=JobGroup.Status.values)
    run = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    result = GroupResultSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    jobs = JobSerializer(many=True)


class WindowSerializer(StrictSerializer):
    """A metric's time range in unix seconds (start before end); unknown fields are refused."""

    start_timestamp = StrictIntegerField(min_value=0, max_value=2**40)
    end_timestamp = StrictIntegerField(min_value=0, max_value=2**40)

    def validate(self, attrs):
        if attrs["start_timestamp"] >= attrs["end_timestamp"]:
            raise serializers.ValidationError("start_timestamp must be before end_timestamp")
        problem = range_without_data(attrs["start_timestamp"], attrs["end_timestamp"])
        if problem:
            raise serializers.ValidationError(problem)
        return attrs


class JobCreateApi(ServiceOnly, APIView):
    class InputSerializer(StrictSerializer):
        job_group_id = serializers.RegexField(
            _GROUP_ID, trim_whitespace=False, error_messages={"invalid": "must be 1-66 characters of [0-9A-Za-z_x-]"}
        )
        twap = WindowSerializer()
        reserve_price = WindowSerializer()
        max_return = WindowSerializer()

    InputSerializer.__name__ = "JobGroupInputSerializer"
    InputSerializer.__doc__ = "A job group: its id and one time range per metric; unknown fields are refused."

    @extend_schema(
        operation_id="job_group_create",
        tags=[INTERNAL_TAG],
        summary="Internal: start a job group",
        description=(
            "Called by the offchain processor, signed with the shared service secret: creates the three jobs "
            "(TWAP, reserve price, max return) of a job group and queues them for proving. Creating the same "
            "group again is accepted; a different range under a known id is a conflict (409)."
        ),
        request=InputSerializer,
        responses={
            200: JobCreatedSerializer,
            400: JobCreatedSerializer,
            409: JobCreatedSerializer,
            **error_responses(401, 413, 429),
        },
    )
    def post(self, request):
        job_group_id = request.data.get("job_group_id") if isinstance(request.data, dict) else None
        if not isinstance(job_group_id, str):
            job_group_id = None
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            return self.error(400, first_error_message(serializer.errors), job_group_id)
        data = serializer.validated_data
        ranges = {metric: (data[metric]["start_timestamp"], data[metric]["end_timestamp"]) for metric in METRICS}
        try:
            services.job_group_create(job_group_id=data["job_group_id"], ranges=ranges)
        except ApplicationError as exc:
            return self.error(exc.status_code, exc.message, job_group_id)
        created = {
            "status": "success",
            "message": "All jobs dispatched successfully",
            "job_group_id": data["job_group_id"],
        }
        return Response(JobCreatedSerializer(created).data)

    @staticmethod
    def error(status_code: int, message: str, job_group_id) -> Response:
        body = {"status": "error", "message": message, "job_group_id": job_group_id}
        return Response(JobCreatedSerializer(body).data, status=status_code)


class JobGroupDetailApi(ServiceOnly, APIView):
    @extend_schema(
        operation_id="job_group_retrieve",
        tags=[INTERNAL_TAG],
        summary="Internal: read a job group",
        description=(
            "Called by the offchain processor, signed with the shared service secret: the group's status, "
            "its jobs with their results and proofs, and the combined result once it completed."
        ),
        responses={200: JobGroupSerializer, **error_responses(401, 404, 429)},
    )
    def get(self, request, job_group_id: str):
        detail = None
        if _GROUP_ID.fullmatch(job_group_id):
            detail = selectors.job_group_detail(job_group_id)
        if detail is None:
            raise NotFound("no such job group")
        return Response(JobGroupSerializer(detail).data)


class PublishedKeySerializer(serializers.Serializer):
    key_id = serializers.CharField(help_text="first 16 hex digits of sha256(raw public key)")
    public_key = serializers.CharField(help_text="0x + raw 32-byte Ed25519 public key")
    public_key_pem = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["current", "retired", "revoked"],
        help_text="current signs; retired verifies records signed before retired_at; revoked verifies none",
    )
    created_at = serializers.DateTimeField()
    retired_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_reason = serializers.CharField(allow_null=True)


class ProverKeySerializer(serializers.Serializer):
    algorithm = serializers.ChoiceField(choices=["ed25519"])
    key_id = serializers.CharField(allow_null=True, help_text="the current key's id")
    public_key = serializers.CharField(allow_null=True, help_text="the current key")
    keys = PublishedKeySerializer(many=True, help_text="current and retired keys; records name theirs by key_id")


class ProverKeyApi(APIView):
    # Retired keys stay listed so the records they signed before retired_at keep verifying; a revoked
    # key is listed with its reason and verifies nothing (docs/proofs.md).

    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = [ApiKeyRateThrottle]

    @extend_schema(
        operation_id="prover_key_retrieve",
        tags=[CLIENT_TAG],
        summary="Keys that verify attested proofs",
        description=(
            "The Ed25519 public keys that sign attested proof records: the current one, and every retired "
            "one, so that records signed before a key rotation keep verifying. A record names its key by "
            "`key_id`."
        ),
        responses={200: ProverKeySerializer, **error_responses(401, 429)},
    )
    def get(self, request: Request) -> Response:
        return Response(ProverKeySerializer(prover_key_json()).data)
