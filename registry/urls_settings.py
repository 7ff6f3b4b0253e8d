"""The tenant admins' repository pages, mounted at /settings/repositories/ by flowui/urls_tenant.py (the URL names
are global, as the other settings pages' in tenants/urls.py)."""

from django.urls import path

from registry import views_settings

urlpatterns = [
    path("", views_settings.repositories, name="tenant_repositories"),
    path("<slug:slug>/sync/", views_settings.repository_sync, name="tenant_repository_sync"),
    path("<slug:slug>/pin/", views_settings.repository_pin, name="tenant_repository_pin"),
    path("<slug:slug>/status/", views_settings.repository_status, name="tenant_repository_status"),
]
