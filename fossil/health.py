"""Liveness and readiness. Readiness proves Postgres answers, every work queue (with its
dead-letter queue) exists on SQS and answers, and the settings' READINESS_CHECKS pass (the
prover key: a machine whose key is not the current one answers 503 naming both key ids)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.api_tags import PROBES_TAG
from fossil.queues import missing_queues, queue_name


def postgres_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def sqs_queues_check() -> str:
    """Every work queue exists with its dead-letter queue and redrive policy, and SQS answers.

    Read-only, so any number of concurrent probes agree. It proves what a message round
    trip through a canary queue proved (endpoint reachable, credentials accepted) and
    more: a broker restarted without its state has lost the work queues, not a canary.
    """
    missing = missing_queues()
    if missing:
        return f"error: queue(s) missing or without dead-letter queue: {', '.join(queue_name(n) for n in missing)}"
    return "ok"


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])


class ReadinessSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    checks = serializers.DictField(child=serializers.CharField(), help_text='per dependency: "ok" or "error: ..."')


class HealthApi(APIView):
    authentication_classes: list = []

    @extend_schema(
        operation_id="health",
        tags=[PROBES_TAG],
        summary="Liveness",
        description="Answers 200 while the web server runs; it looks at no dependency.",
        responses={200: HealthSerializer},
    )
    def get(self, request):
        return Response(HealthSerializer({"status": "ok"}).data)


class ReadinessApi(APIView):
    authentication_classes: list = []

    @extend_schema(
        operation_id="health_ready",
        tags=[PROBES_TAG],
        summary="Readiness",
        description=(
            "Answers 200 when Postgres answers and every work queue (with its dead-letter queue) exists on "
            "SQS; 503 with the failed check named otherwise."
        ),
        responses={200: ReadinessSerializer, 503: ReadinessSerializer},
    )
    def get(self, request):
        checks = {}
        extra = [(name, import_string(path)) for name, path in settings.READINESS_CHECKS.items()]
        for name, check in [("postgres", postgres_check), ("sqs", sqs_queues_check), *extra]:
            try:
                checks[name] = check()
            except Exception as exc:  # any failure means not ready; say which
                checks[name] = f"error: {exc.__class__.__name__}"
        ready = all(value == "ok" for value in checks.values())
        body = ReadinessSerializer({"status": "ok" if ready else "unavailable", "checks": checks}).data
        return Response(body, status=200 if ready else 503)
