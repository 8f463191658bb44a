from django.contrib import admin
from django.urls import path

from proving.console import dashboard_view, dead_letters_view

urlpatterns = [
    path("dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("dead-letters/", admin.site.admin_view(dead_letters_view), name="admin-dead-letters"),
]
