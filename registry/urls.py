"""The operator catalog (mounted at /operators/ on a tenant's domain)."""

from django.urls import path

from registry import views

app_name = "registry"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("syncs/", views.sync_runs, name="sync_runs"),
    path("syncs/<int:pk>/", views.sync_run_status, name="sync_run_status"),
    path("repositories/<slug:slug>/sync/", views.repository_sync, name="repository_sync"),
    path("<slug:repository>/<str:name>/", views.operator_detail, name="operator_detail"),
    path("<slug:repository>/<str:name>/preview/", views.operator_form_preview, name="operator_form_preview"),
]
