"""Tenant settings pages (admins): members and roles, private operator repositories, secrets."""

from django.urls import path

from tenants import views

urlpatterns = [
    path("", views.settings_home, name="tenant_settings"),
    path("members/", views.members, name="tenant_members"),
    path("members/<int:user_id>/", views.member_change, name="tenant_member_change"),
    path("repositories/", views.repositories, name="tenant_repositories"),
    path("repositories/<slug:slug>/sync/", views.repository_sync, name="tenant_repository_sync"),
    path("repositories/<slug:slug>/pin/", views.repository_pin, name="tenant_repository_pin"),
    path("repositories/<slug:slug>/status/", views.repository_status, name="tenant_repository_status"),
    path("secrets/", views.secrets, name="tenant_secrets"),
    path("secrets/<str:name>/delete/", views.secret_delete, name="tenant_secret_delete"),
    path("tokens/", views.tokens, name="tenant_tokens"),
    path("audit/", views.audit, name="tenant_audit"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="tenant_token_revoke"),
]
