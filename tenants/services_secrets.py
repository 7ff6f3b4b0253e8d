"""Writes and reads of a tenant's secrets. Values go in encrypted and only the runtime reads them back."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from tenants.audit import audit_record
from tenants.models_audit import AuditAction
from tenants.models_secrets import TenantSecret, secret_name_validator

MAX_SECRET_CHARS = 10_000


def secret_set(*, tenant, name: str, value: str) -> TenantSecret:
    """Create or replace the secret `name` of the tenant."""
    name = (name or "").strip()
    secret_name_validator(name)
    if not value:
        raise ValidationError({"value": "Give a value (it is stored encrypted and never shown again)."})
    if len(value) > MAX_SECRET_CHARS:
        raise ValidationError({"value": f"Use at most {MAX_SECRET_CHARS} characters."})
    secret = TenantSecret.objects.filter(tenant=tenant, name=name).first() or TenantSecret(tenant=tenant, name=name)
    secret.value = value
    secret.save()
    audit_record(tenant=tenant, action=AuditAction.SECRET_SET, object_type="secret", object_id=name, object_repr=name)
    return secret


def secret_delete(*, tenant, name: str) -> bool:
    deleted, _ = TenantSecret.objects.filter(tenant=tenant, name=name).delete()
    if deleted:
        audit_record(tenant=tenant, action=AuditAction.SECRET_DELETE, object_type="secret", object_id=name,
                     object_repr=name)
    return bool(deleted)


def secrets_list(*, tenant) -> list[TenantSecret]:
    """Names and dates only are meant for display; never render `.value`."""
    return list(TenantSecret.objects.filter(tenant=tenant).only("name", "created_at", "updated_at", "tenant_id"))


def secrets_values(*, tenant, names: list[str]) -> dict[str, str]:
    """The values of the named secrets (for the runtime); missing names are left out."""
    return {s.name: s.value for s in TenantSecret.objects.filter(tenant=tenant, name__in=names)}
