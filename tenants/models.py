"""Tenants, their domains, who may enter them (memberships) and API tokens.

The app's other models live in their own modules (audit log, provisioning, secrets) and are imported here, the
module Django loads for the app, so they are registered with it; `__all__` names what this module provides."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import schema_exists

from flowui import crypto
from tenants.models_audit import AuditAction, AuditEvent
from tenants.models_provisioning import ProvisioningStep, TenantResources
from tenants.models_secrets import TenantSecret
from tenants.schemas import tenant_schema_create

__all__ = [
    "ROLE_RANK",
    "ApiToken",
    "AuditAction",
    "AuditEvent",
    "Domain",
    "Membership",
    "ProvisioningStep",
    "Role",
    "Tenant",
    "TenantResources",
    "TenantSecret",
]


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"
    OWNER = "owner", "Owner"


ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Tenant(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        ARCHIVED = "archived", "Archived"

    class AirflowMode(models.TextChoices):
        SHARED = "shared", "Shared Airflow"
        DEDICATED = "dedicated", "Dedicated Airflow"

    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    airflow_mode = models.CharField(max_length=16, choices=AirflowMode.choices, default=AirflowMode.SHARED)
    # Only for a dedicated Airflow; the password is stored encrypted (see flowui.crypto).
    airflow_url = models.URLField(blank=True)
    airflow_username = models.CharField(max_length=150, blank=True)
    airflow_password_encrypted = models.TextField(blank=True)
    airflow_dags_path = models.CharField(
        max_length=500, blank=True, help_text="Folder the dedicated Airflow reads DAG files from."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Clone the template schema (tenants.schemas) instead of django-tenants' clone + fake migrate run;
        the outcome (method, duration) is kept on the instance for the provisioning record."""
        if self.is_public or not sync_schema:
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        self.schema_creation = tenant_schema_create(self.schema_name, verbosity=max(0, verbosity - 1))
        return True

    @property
    def is_public(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME

    @property
    def airflow_password(self) -> str:
        return crypto.decrypt(self.airflow_password_encrypted) if self.airflow_password_encrypted else ""

    @airflow_password.setter
    def airflow_password(self, value: str) -> None:
        self.airflow_password_encrypted = crypto.encrypt(value) if value else ""


class Domain(DomainMixin):
    def __str__(self) -> str:
        return self.domain


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_tenant")]
        ordering = ["tenant__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]


def role_min(first: str, second: str) -> str:
    """The lower of two roles (a token acts with min(token role, the user's role))."""
    return first if ROLE_RANK[Role(first)] <= ROLE_RANK[Role(second)] else second


class ApiToken(models.Model):
    """A per-user, per-tenant API token. Only a hash of the key is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")

    class TokenRole(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        EDITOR = "editor", "Editor"
        ADMIN = "admin", "Admin"

    name = models.CharField(max_length=100, default="default")
    # The token acts with min(role, the user's current role in the tenant); see tenants.authentication.
    role = models.CharField(max_length=16, choices=TokenRole.choices, default=TokenRole.ADMIN)
    key_prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…) for {self.user} in {self.tenant}"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return "flw_" + secrets.token_urlsafe(32)
