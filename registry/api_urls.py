"""Registry routes of the tenant REST API (mounted under /api/)."""

from django.urls import path

from registry import api

urlpatterns = [
    path("operators/", api.OperatorListView.as_view(), name="api-operators"),
    path("operators/<slug:repository>/<str:name>/", api.OperatorDetailView.as_view(), name="api-operator"),
    path("operator-versions/<int:pk>/", api.OperatorVersionDetailView.as_view(), name="api-operator-version"),
    path("repositories/", api.RepositoryListView.as_view(), name="api-repositories"),
    path("repositories/<slug:slug>/sync/", api.RepositorySyncView.as_view(), name="api-repository-sync"),
    path("repositories/<slug:slug>/pin/", api.RepositoryPinView.as_view(), name="api-repository-pin"),
    path("sync-runs/", api.SyncRunListView.as_view(), name="api-sync-runs"),
    path("sync-runs/<int:pk>/", api.SyncRunDetailView.as_view(), name="api-sync-run"),
]
