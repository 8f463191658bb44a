from django.contrib import admin
from django.urls import include, path

from drf_spectacular.views import SpectacularAPIView

from fossil.admin import dashboard_view, dead_letters_view
from fossil.health import HealthApi, ReadinessApi
from fossil.observability import metrics_view

urlpatterns = [
    path("health", HealthApi.as_view(), name="health"),
    path("health/ready", ReadinessApi.as_view(), name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/dead-letters/", admin.site.admin_view(dead_letters_view), name="admin-dead-letters"),
    path("admin/", admin.site.urls),
    path("api/schema", SpectacularAPIView.as_view(), name="openapi-schema"),
    path("", include("fossil.api_docs")),
    path("", include("offchain.urls")),
    path("api/", include("proving.urls")),
]
