from django.contrib import admin
from django.urls import include, path

from drf_spectacular.views import SpectacularAPIView

from fossil.health import HealthApi, ReadinessApi

urlpatterns = [
    path("health", HealthApi.as_view(), name="health"),
    path("health/ready", ReadinessApi.as_view(), name="health-ready"),
    path("admin/", admin.site.urls),
    path("api/schema", SpectacularAPIView.as_view(), name="openapi-schema"),
    path("", include("offchain.urls")),
    path("api/", include("proving.urls")),
]
