"""Liveness and readiness. Readiness proves Postgres answers and a canary message makes
the round trip through SQS (send, receive, delete), so a broker that accepts connections
but not messages is caught too."""
from __future__ import annotations

import uuid

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.queues import queue_name, sqs_client

CANARY_QUEUE = "canary"


def postgres_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def sqs_canary_check() -> str:
    client = sqs_client()
    queue = client.create_queue(QueueName=queue_name(CANARY_QUEUE), Attributes={"MessageRetentionPeriod": "60"})
    url = queue["QueueUrl"]
    marker = uuid.uuid4().hex
    client.send_message(QueueUrl=url, MessageBody=marker)
    for _ in range(3):
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if message["Body"] == marker:
                return "ok"
    return "error: canary message did not come back"


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])


class ReadinessSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    checks = serializers.DictField(child=serializers.CharField(), help_text='per dependency: "ok" or "error: ..."')


class HealthApi(APIView):
    authentication_classes: list = []

    @extend_schema(operation_id="health", responses={200: HealthSerializer})
    def get(self, request):
        return Response(HealthSerializer({"status": "ok"}).data)


class ReadinessApi(APIView):
    authentication_classes: list = []

    @extend_schema(
        operation_id="health_ready",
        responses={200: ReadinessSerializer, 503: ReadinessSerializer},
    )
    def get(self, request):
        checks = {}
        for name, check in (("postgres", postgres_check), ("sqs", sqs_canary_check)):
            try:
                checks[name] = check()
            except Exception as exc:  # any failure means not ready; say which
                checks[name] = f"error: {exc.__class__.__name__}"
        ready = all(value == "ok" for value in checks.values())
        body = ReadinessSerializer({"status": "ok" if ready else "unavailable", "checks": checks}).data
        return Response(body, status=200 if ready else 503)
