from __future__ import annotations

import re

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.exceptions import ApplicationError, NotFound, first_error_message
from fossil.permissions import ServiceSignatureAuthentication
from fossil.validation import StrictIntegerField, StrictSerializer
from offchain.authentication import ApiKeyAuthentication
from proving import selectors, services
from proving.models import METRICS

_GROUP_ID = re.compile(r"^[0-9A-Za-z_x-]{1,66}$")


class ServiceOrClientKey:
    authentication_classes = [ServiceSignatureAuthentication, ApiKeyAuthentication]


class WindowSerializer(StrictSerializer):
    start_timestamp = StrictIntegerField(min_value=0, max_value=2**40)
    end_timestamp = StrictIntegerField(min_value=0, max_value=2**40)

    def validate(self, attrs):
        if attrs["start_timestamp"] >= attrs["end_timestamp"]:
            raise serializers.ValidationError("start_timestamp must be before end_timestamp")
        return attrs


class JobCreateApi(ServiceOrClientKey, APIView):
    class InputSerializer(StrictSerializer):
        job_group_id = serializers.RegexField(_GROUP_ID, error_messages={"invalid": "must be 1-66 characters of [0-9A-Za-z_x-]"})
        twap = WindowSerializer()
        reserve_price = WindowSerializer()
        max_return = WindowSerializer()

    def post(self, request):
        job_group_id = request.data.get("job_group_id") if isinstance(request.data, dict) else None
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            return self.error(400, first_error_message(serializer.errors), job_group_id)
        data = serializer.validated_data
        ranges = {metric: (data[metric]["start_timestamp"], data[metric]["end_timestamp"]) for metric in METRICS}
        try:
            services.job_group_create(job_group_id=data["job_group_id"], ranges=ranges)
        except ApplicationError as exc:
            return self.error(exc.status_code, exc.message, job_group_id)
        return Response(
            {"status": "success", "message": "All jobs dispatched successfully", "job_group_id": data["job_group_id"]}
        )

    @staticmethod
    def error(status_code: int, message: str, job_group_id) -> Response:
        return Response({"status": "error", "message": message, "job_group_id": job_group_id}, status=status_code)


class JobGroupDetailApi(ServiceOrClientKey, APIView):
    def get(self, request, job_group_id: str):
        detail = selectors.job_group_detail(job_group_id)
        if detail is None:
            raise NotFound(f"no job group {job_group_id}")
        return Response(detail)
