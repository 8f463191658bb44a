"""Liveness and readiness: readiness proves Postgres answers and SQS accepts a call."""
from __future__ import annotations

from django.db import connection
from rest_framework.response import Response
from rest_framework.views import APIView

from fossil.queues import queue_name, sqs_client


class HealthApi(APIView):
    def get(self, request):
        return Response({"status": "ok"})


class ReadinessApi(APIView):
    def get(self, request):
        checks = {}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            checks["postgres"] = "ok"
        except Exception as exc:  # any failure means not ready; say which
            checks["postgres"] = f"error: {exc.__class__.__name__}"
        try:
            sqs_client().get_queue_url(QueueName=queue_name("proofs"))
            checks["sqs"] = "ok"
        except Exception as exc:
            checks["sqs"] = f"error: {exc.__class__.__name__}"
        ready = all(value == "ok" for value in checks.values())
        return Response({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
