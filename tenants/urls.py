"""Tenant settings pages: members and roles, secrets (admins), API tokens (every member), the audit log.

The operator repositories' settings pages are the registry's (registry/urls_settings.py)."""

from django.urls import path

from tenants import views

urlpatterns = [
    path("", views.settings_home, name="tenant_settings"),
    path("members/", views.members, name="tenant_members"),
    path("members/<int:user_id>/", views.member_change, name="tenant_member_change"),
    path("secrets/", views.secrets, name="tenant_secrets"),
    path("secrets/<str:name>/delete/", views.secret_delete, name="tenant_secret_delete"),
    path("tokens/", views.tokens, name="tenant_tokens"),
    path("audit/", views.audit, name="tenant_audit"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="tenant_token_revoke"),
]
