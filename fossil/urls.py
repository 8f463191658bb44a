from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from fossil.health import HealthApi, ReadinessApi
from fossil.observability import metrics_view

admin.autodiscover()  # INSTALLED_APPS has SimpleAdminConfig (fossil/settings.py)

# Console pages under /admin/, the API's JSON error shape elsewhere (fossil/error_pages.py).
handler400 = "fossil.error_pages.bad_request"
handler403 = "fossil.error_pages.permission_denied"
handler404 = "fossil.error_pages.page_not_found"
handler500 = "fossil.error_pages.server_error"

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
