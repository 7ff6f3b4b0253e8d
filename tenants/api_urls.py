"""Tenant routes of the REST API (mounted under /api/): the caller's API tokens."""

from django.urls import path

from tenants import api

urlpatterns = [
    path("tokens/", api.TokenListView.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>/", api.TokenDetailView.as_view(), name="api-token"),
    path("audit/", api.AuditListView.as_view(), name="api-audit"),
]
