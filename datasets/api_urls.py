"""Dataset routes of the tenant REST API (mounted under /api/)."""

from django.urls import path

from datasets import api

urlpatterns = [
    path("datasets/", api.DatasetListView.as_view(), name="api-datasets"),
    path("datasets/<path:path>", api.DatasetDetailView.as_view(), name="api-dataset"),
]
