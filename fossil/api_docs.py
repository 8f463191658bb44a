"""The API docs pages: Swagger UI (/api/docs) and Redoc (/api/redoc), served from the
drf-spectacular-sidecar static files (no CDN), with the README's example request."""

from __future__ import annotations

import json
from functools import lru_cache

from django.conf import settings
from django.urls import path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


@lru_cache(maxsize=1)
def example_request() -> dict:
    return json.loads((settings.BASE_DIR / "docs" / "example_request.json").read_text())


def add_example_request(result, generator, request, public):
    """Postprocessing hook: POST /pricing_data shows docs/example_request.json as its example."""
    operation = result.get("paths", {}).get("/pricing_data", {}).get("post")
    if operation:
        content = operation.setdefault("requestBody", {}).setdefault("content", {}).setdefault("application/json", {})
        content["examples"] = {
            "readme": {"summary": "the README's example (docs/example_request.json)", "value": example_request()}
        }
    return result


urlpatterns = [
    path("api/docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="api-docs"),
    path(
        "api/redoc",
        SpectacularRedocView.as_view(url_name="openapi-schema", template_name="fossil/redoc.html"),
        name="api-redoc",
    ),
]
