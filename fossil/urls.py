from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from fossil.health import HealthApi, ReadinessApi
from fossil.observability import metrics_view

admin.autodiscover()  # INSTALLED_APPS has SimpleAdminConfig (fossil/settings.py)

urlpatterns = [
    path("health", HealthApi.as_view(), name="health"),
    path("health/ready", ReadinessApi.as_view(), name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", include("proving.console_urls")),
    path("admin/", admin.site.urls),
    path("api/schema", SpectacularAPIView.as_view(), name="openapi-schema"),
    path("", include("fossil.api_docs")),
    path("", include("offchain.urls")),
    path("api/", include("proving.urls")),
]
