"""Writes and reads of a tenant's secrets. Values go in encrypted and only the runtime reads them back.

Every change is published where operators read secrets from (`secrets_publish`):
- always, the tenant's platform-only secrets file `FLOWUI_SECRETS_DIR/<schema>.json` (flowui_runtime.secrets),
  which Airflow's worker reads for local-mode tasks (only the names a task's operator declares);
- in aws mode also the tenant's AWS Secrets Manager secret `<PROJECT_NAME>/<schema>/operator-secrets` (JSON of
  name -> value), which the tenant's Batch job definitions reference, one `secrets` entry per declared name.
Kubernetes mode reads the tenant's Secret `flowui-<schema>-secrets` (flowui_runtime.kubernetes.tenant_secret).
Provisioning and `flowui_bootstrap` publish again, so what operators read is never stale.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from flowui.lib import aws
from flowui.lib.aws import AwsError
from flowui_runtime import secrets as runtime_secrets
from flowui_runtime.kubernetes import tenant_secret
from tenants.audit import audit_record
from tenants.models_audit import AuditAction
from tenants.models_secrets import TenantSecret, secret_name_validator

logger = logging.getLogger(__name__)

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
    _change_and_publish(tenant, secret.save)
    audit_record(tenant=tenant, action=AuditAction.SECRET_SET, object_type="secret", object_id=name, object_repr=name)
    return secret


def secret_delete(*, tenant, name: str) -> bool:
    deleted, _ = _change_and_publish(tenant, TenantSecret.objects.filter(tenant=tenant, name=name).delete)
    if deleted:
        audit_record(
            tenant=tenant, action=AuditAction.SECRET_DELETE, object_type="secret", object_id=name, object_repr=name
        )
    return bool(deleted)


def secrets_list(*, tenant) -> list[TenantSecret]:
    """Names and dates only are meant for display; never render `.value`."""
    return list(TenantSecret.objects.filter(tenant=tenant).only("name", "created_at", "updated_at", "tenant_id"))


def secrets_values(*, tenant, names: list[str] | None = None) -> dict[str, str]:
    """The values of the named secrets (all of them when `names` is None); missing names are left out."""
    rows = TenantSecret.objects.filter(tenant=tenant)
    if names is not None:
        rows = rows.filter(name__in=names)
    return {s.name: s.value for s in rows}


# --- publishing -----------------------------------------------------------------------------------------
def operator_secret_name(*, tenant) -> str:
    """The tenant's AWS Secrets Manager secret: `<PROJECT_NAME>/<schema>/operator-secrets`."""
    return f"{settings.PROJECT_NAME}/{tenant.schema_name}/operator-secrets"


def secrets_file_path(*, tenant):
    return runtime_secrets.tenant_secrets_file(settings.FLOWUI_SECRETS_DIR, tenant.schema_name)


def operator_secret_ensure(*, tenant) -> str:
    """aws mode: the ARN of the tenant's Secrets Manager secret, created (with the current values) if missing."""
    arn = aws.secretsmanager_secret_arn(name=operator_secret_name(tenant=tenant))
    return arn or secrets_publish(tenant=tenant, aws_mode=True)["secret_arn"]


def secrets_publish(*, tenant, aws_mode: bool | None = None) -> dict:
    """Write the tenant's current secrets where operators read them: the Secrets Manager secret first (aws
    mode), then the local secrets file. Idempotent; returns what was written (never values)."""
    values = secrets_values(tenant=tenant)
    result: dict = {"names": sorted(values)}
    if aws_mode if aws_mode is not None else settings.FLOWUI_DEPLOY_MODE == "aws":
        written = aws.secretsmanager_secret_put(
            name=operator_secret_name(tenant=tenant),
            value=json.dumps(values, sort_keys=True),
            tags={"flowui:project": settings.PROJECT_NAME, "flowui:tenant": tenant.schema_name},
        )
        result["secret_arn"] = written["arn"]
    result["secrets_file"] = str(
        runtime_secrets.write_tenant_secrets(settings.FLOWUI_SECRETS_DIR, tenant.schema_name, values)
    )
    return result


def kubernetes_secret(*, tenant):
    """Kubernetes mode: the tenant's V1Secret (its current values) that its pods reference, to apply with the
    Kubernetes API (flowui_runtime.kubernetes.tenant_secret; needs the `kubernetes` client package)."""
    return tenant_secret(tenant.schema_name, secrets_values(tenant=tenant))


def secrets_unpublish(*, tenant) -> list[str]:
    """Remove the tenant's secrets file and (aws mode) its Secrets Manager secret; returns what was removed."""
    removed = []
    if runtime_secrets.remove_tenant_secrets(settings.FLOWUI_SECRETS_DIR, tenant.schema_name):
        removed.append(f"secrets file {secrets_file_path(tenant=tenant)}")
    if settings.FLOWUI_DEPLOY_MODE == "aws" and aws.secretsmanager_secret_delete(
        name=operator_secret_name(tenant=tenant)
    ):
        removed.append(f"Secrets Manager secret {operator_secret_name(tenant=tenant)}")
    return removed


def _change_and_publish(tenant, change):
    """Run `change()` and publish the result in one transaction: when publishing fails (AWS unreachable, disk)
    the change is rolled back and reported as a ValidationError."""
    try:
        with transaction.atomic():
            result = change()
            secrets_publish(tenant=tenant)
    except (AwsError, OSError) as error:
        logger.warning("secrets of %s not published: %s", tenant.schema_name, error)
        _republish_quietly(tenant)
        raise ValidationError(
            {"value": f"The secret could not be stored where operators read it ({error}); nothing changed."}
        ) from None
    return result


def _republish_quietly(tenant) -> None:
    """After a rolled-back change, put the local file back to what the database holds (best effort)."""
    try:
        runtime_secrets.write_tenant_secrets(
            settings.FLOWUI_SECRETS_DIR, tenant.schema_name, secrets_values(tenant=tenant)
        )
    except OSError as error:  # pragma: no cover - the disk failed twice
        logger.warning("secrets file of %s not rewritten: %s", tenant.schema_name, error)
