"""Writes about tenants: creation, suspension, archive and deletion, memberships, API tokens, the housekeeping
schedule. The provisioning pipeline's writes are in services_provisioning (re-exported here)."""

from __future__ import annotations

import logging
import re
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_tenants.utils import schema_context

from flowui.lib import aws
from tenants.audit import audit_record
from tenants.housekeeping import tenant_data_archive
from tenants.models import (
    ROLE_RANK,
    ApiToken,
    Domain,
    Membership,
    Role,
    Tenant,
    TenantResources,
)
from tenants.models_audit import AuditAction
from tenants.selectors import tenant_shared_dags_folder, tenant_storage_root
from tenants.services_provisioning import (  # the provisioning writes, importable from here as before
    tenant_provisioning_enqueue as tenant_provisioning_enqueue,
)
from tenants.services_provisioning import tenant_provisioning_plan as tenant_provisioning_plan
from tenants.services_provisioning import tenant_provisioning_retry as tenant_provisioning_retry
from tenants.services_provisioning import tenant_provisioning_run as tenant_provisioning_run
from tenants.services_provisioning import tenant_provisioning_step_run as tenant_provisioning_step_run
from tenants.services_secrets import operator_secret_name, secrets_file_path, secrets_unpublish

logger = logging.getLogger(__name__)

_SCHEMA_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
DAG_ID_SEPARATOR = "__"  # DAG ids are `<schema>__<slug>` (tenants.selectors.tenant_dag_id_prefix)
RESERVED_SCHEMAS = {"public", "information_schema", "base_tenant", "pg_catalog"}


def tenant_domain_for(schema_name: str) -> str:
    """`acme_corp` -> `acme-corp.localhost` (Django rejects `_` in host names)."""
    return f"{schema_name.replace('_', '-')}.{settings.FLOWUI_TENANT_DOMAIN_SUFFIX}"


def public_tenant_ensure() -> Tenant:
    tenant = Tenant.objects.filter(schema_name=settings.PUBLIC_SCHEMA_NAME).first()
    if tenant is None:
        tenant = Tenant(schema_name=settings.PUBLIC_SCHEMA_NAME, name="Platform")
        tenant.save(verbosity=0)
    Domain.objects.get_or_create(domain=settings.FLOWUI_PUBLIC_DOMAIN, defaults={"tenant": tenant, "is_primary": True})
    for extra in ("127.0.0.1",):
        Domain.objects.get_or_create(domain=extra, defaults={"tenant": tenant, "is_primary": False})
    return tenant


def dags_path_problem(path: str) -> str:
    """Why `path` cannot be a dedicated Airflow's DAG folder, or "": it must be absolute and lie outside the
    tenants' storage (operators write there; whatever Airflow parses runs as code)."""
    if not path:
        return ""
    folder = Path(path)
    if not folder.is_absolute():
        return "Give an absolute path."
    volume = Path(settings.VOLUME_MOUNT_PATH_HOST).resolve()
    resolved = folder.resolve()
    if resolved.is_relative_to(volume) or volume.is_relative_to(resolved):
        return f"The DAG folder must lie outside the tenants' storage ({volume}): operators can write there."
    return ""


def tenant_input_validate(
    *,
    schema_name: str,
    name: str,
    domain: str | None,
    airflow_mode: str,
    airflow_url: str,
    airflow_dags_path: str = "",
) -> str:
    """Raise ValidationError (per field) for input tenant_create would refuse; returns the domain to use."""
    if not _SCHEMA_RE.match(schema_name or "") or schema_name in RESERVED_SCHEMAS:
        raise ValidationError({"schema_name": "Use 2-41 lower-case letters, digits or '_', starting with a letter."})
    if DAG_ID_SEPARATOR in schema_name:
        # DAG ids are `<schema>__<slug>`: with "__" in a schema name, tenant `a__b` could take tenant `a`'s DAGs.
        raise ValidationError(
            {
                "schema_name": "'__' (two underscores) is not allowed: it separates the tenant from the workflow in "
                "DAG ids. Use single underscores."
            }
        )
    if Tenant.objects.filter(schema_name__iexact=schema_name).exists():
        raise ValidationError({"schema_name": f"A tenant with schema {schema_name!r} exists already."})
    if not (name or "").strip():
        raise ValidationError({"name": "A tenant needs a name."})
    if airflow_mode not in Tenant.AirflowMode.values:
        modes = ", ".join(Tenant.AirflowMode.values)
        raise ValidationError({"airflow_mode": f"Unknown Airflow mode {airflow_mode!r}; expected one of {modes}."})
    if airflow_mode == Tenant.AirflowMode.DEDICATED and not airflow_url:
        raise ValidationError({"airflow_url": "A dedicated Airflow needs its URL."})
    if problem := dags_path_problem(airflow_dags_path):
        raise ValidationError({"airflow_dags_path": problem})
    domain = domain or tenant_domain_for(schema_name)
    if Domain.objects.filter(domain=domain).exists():
        raise ValidationError({"domain": f"The domain {domain!r} is taken."})
    return domain


@transaction.atomic
def tenant_create(
    *,
    schema_name: str,
    name: str,
    domain: str | None = None,
    airflow_mode: str = Tenant.AirflowMode.SHARED,
    airflow_url: str = "",
    airflow_username: str = "",
    airflow_password: str = "",
    airflow_dags_path: str = "",
    provision: bool = True,
) -> Tenant:
    """Create a tenant (schema cloned from the template + domain) and, once committed, start its
    provisioning pipeline (storage, cloud resources, Airflow; see tenants.provisioning)."""
    # Tenants are rows of the public schema, whatever schema the caller's connection is in.
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        domain = tenant_input_validate(
            schema_name=schema_name,
            name=name,
            domain=domain,
            airflow_mode=airflow_mode,
            airflow_url=airflow_url,
            airflow_dags_path=airflow_dags_path,
        )
        tenant = Tenant(
            schema_name=schema_name,
            name=name,
            airflow_mode=airflow_mode,
            airflow_url=airflow_url,
            airflow_username=airflow_username,
            airflow_dags_path=airflow_dags_path,
        )
        tenant.airflow_password = airflow_password
        tenant.save(verbosity=0)
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
        tenant_provisioning_plan(tenant=tenant)
        if provision:
            tenant_provisioning_enqueue(tenant=tenant)
        return tenant


def tenant_ensure(*, schema_name: str, name: str, domain: str | None = None) -> Tenant:
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    return tenant or tenant_create(schema_name=schema_name, name=name, domain=domain)


def membership_set(*, user, tenant: Tenant, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; expected one of {', '.join(Role.values)}."})
    previous = Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()
    membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    if previous is None:
        _audit_member(tenant, AuditAction.MEMBER_ADD, user, f"role {role}")
    elif previous != role:
        _audit_member(tenant, AuditAction.MEMBER_ROLE_CHANGE, user, f"{previous} -> {role}")
    return membership


def _audit_member(tenant: Tenant, action: str, user, detail: str) -> None:
    audit_record(
        tenant=tenant,
        action=action,
        object_type="member",
        object_id=user.pk,
        object_repr=user.get_username(),
        detail=detail,
    )


def membership_remove(*, user, tenant: Tenant) -> None:
    """Remove the membership; the user's API tokens for this tenant go with it."""
    with transaction.atomic():
        removed, _ = Membership.objects.filter(user=user, tenant=tenant).delete()
        tokens, _ = ApiToken.objects.filter(user=user, tenant=tenant).delete()
        if removed:
            _audit_member(tenant, AuditAction.MEMBER_REMOVE, user, f"{tokens} API token(s) revoked with it")


TOKEN_MAX_DAYS = 3650


def api_token_create(
    *,
    user,
    tenant: Tenant,
    name: str = "default",
    role: str | None = None,
    expires_in_days: int | None = None,
    max_role: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the key, which is shown once and never stored in clear.

    `role` defaults to the highest token role (admin); at use it is capped by the user's current role anyway.
    `max_role` (the caller's effective role, e.g. when a token creates a token) refuses anything above it.
    """
    name = (name or "").strip() or "default"
    if len(name) > 100:
        raise ValidationError({"name": "At most 100 characters."})
    role = role or ApiToken.TokenRole.ADMIN
    if role not in ApiToken.TokenRole.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; expected one of {', '.join(ApiToken.TokenRole.values)}."}
        )
    if max_role is not None and ROLE_RANK[Role(role)] > ROLE_RANK[Role(max_role)]:
        raise ValidationError({"role": f"A token's role can be at most yours ({max_role})."})
    if expires_in_days is not None and not (1 <= int(expires_in_days) <= TOKEN_MAX_DAYS):
        raise ValidationError({"expires_in_days": f"Between 1 and {TOKEN_MAX_DAYS} days, or null for no expiry."})
    expires_at = timezone.now() + timedelta(days=int(expires_in_days)) if expires_in_days is not None else None
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=user,
        tenant=tenant,
        name=name,
        role=role,
        expires_at=expires_at,
        key_prefix=key[4:12],
        key_hash=ApiToken.hash_key(key),
    )
    expiry = expires_at.isoformat() if expires_at else "never"
    _audit_token(token, AuditAction.TOKEN_CREATE, f"role {role}, expires {expiry}")
    return token, key


def _audit_token(token: ApiToken, action: str, detail: str) -> None:
    audit_record(
        tenant=token.tenant,
        action=action,
        object_type="token",
        object_id=token.pk,
        object_repr=f"{token.name} (flw_{token.key_prefix}, {token.user.get_username()})",
        detail=detail,
    )


def api_token_revoke(*, token: ApiToken) -> None:
    """Delete the token: its key gets 401 from the next request on."""
    _audit_token(token, AuditAction.TOKEN_REVOKE, "")
    token.delete()


# --- suspend, archive, delete ---------------------------------------------------------------------
def _tenant_status_set(tenant: Tenant, status: str) -> None:
    # A queryset update: TenantMixin.save refuses to run while the connection is in another tenant's schema.
    Tenant.objects.filter(pk=tenant.pk).update(status=status)
    tenant.status = status


def tenant_suspend(*, tenant: Tenant) -> Tenant:
    """Its members are refused (tenants.middleware) until it is reactivated; nothing is removed."""
    if tenant.is_public:
        raise ValidationError("The public tenant cannot be suspended.")
    _tenant_status_set(tenant, Tenant.Status.SUSPENDED)
    return tenant


def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    if tenant.status == Tenant.Status.ARCHIVED:
        raise ValidationError("An archived tenant cannot be reactivated; its deletion is under way.")
    _tenant_status_set(tenant, Tenant.Status.ACTIVE)
    return tenant


def tenant_archive(*, tenant: Tenant) -> TenantResources:
    """Deletion, first step: pack the tenant's files and schema into a verified archive and mark the
    tenant archived (its users are refused from now on). Nothing is removed. Idempotent."""
    if tenant.is_public:
        raise ValidationError("The public tenant cannot be archived.")
    resources, _ = TenantResources.objects.get_or_create(
        tenant=tenant, defaults={"deploy_mode": settings.FLOWUI_DEPLOY_MODE}
    )
    if resources.archive_location:
        return resources
    location, sha = tenant_data_archive(tenant=tenant)
    resources.archive_location, resources.archive_sha256, resources.archived_at = location, sha, timezone.now()
    resources.save(update_fields=["archive_location", "archive_sha256", "archived_at", "updated_at"])
    _tenant_status_set(tenant, Tenant.Status.ARCHIVED)
    logger.info("tenant %s archived to %s", tenant.schema_name, location)
    return resources


def tenant_delete_plan(*, tenant: Tenant) -> list[str]:
    """What `tenant_delete(confirm=True)` would remove, for the confirmation page."""
    resources = TenantResources.objects.filter(tenant=tenant).first()
    items = [f"PostgreSQL schema {tenant.schema_name}"]
    items.append(f"storage folder {tenant_storage_root(tenant=tenant)}")
    items.append(f"DAG folder {tenant_shared_dags_folder(tenant=tenant)}")
    items.append(f"secrets file {secrets_file_path(tenant=tenant)}")
    if settings.FLOWUI_DEPLOY_MODE == "aws":
        items.append(f"Secrets Manager secret {operator_secret_name(tenant=tenant)}")
    if resources:
        if resources.bucket_name:
            items.append(f"S3 bucket {resources.bucket_name} (and every object in it)")
        if resources.access_point_id:
            items.append(f"EFS access point {resources.access_point_id}")
        if resources.role_name:
            items.append(f"IAM role {resources.role_name}")
    return items


def tenant_delete(*, tenant: Tenant, confirm: bool = False) -> dict:
    """Delete a tenant in two steps. Without `confirm` it only archives (tenant_archive) and returns the
    plan. With `confirm=True`, once the archive exists, it removes the cloud resources, the storage folder,
    the schema and the tenant row. The archive is kept."""
    resources = tenant_archive(tenant=tenant)
    plan = tenant_delete_plan(tenant=tenant)
    result = {"tenant": tenant.schema_name, "archive": resources.archive_location, "plan": plan, "removed": []}
    if not confirm:
        return result

    removed = result["removed"]
    if resources.role_name and aws.iam_role_delete(name=resources.role_name):
        removed.append(f"IAM role {resources.role_name}")
    if resources.access_point_id and aws.efs_access_point_delete(access_point_id=resources.access_point_id):
        removed.append(f"EFS access point {resources.access_point_id}")
    if resources.bucket_name and aws.s3_bucket_delete(name=resources.bucket_name):
        removed.append(f"S3 bucket {resources.bucket_name}")
    removed.extend(secrets_unpublish(tenant=tenant))
    root = tenant_storage_root(tenant=tenant)
    if root.exists():
        shutil.rmtree(root)
        removed.append(f"storage folder {root}")
    # Its DAG files in the shared Airflow's DAGs folder (a dedicated Airflow's own folder is left to its owner).
    dags = tenant_shared_dags_folder(tenant=tenant)
    if dags.exists():
        shutil.rmtree(dags)
        removed.append(f"DAG folder {dags}")
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        tenant.delete(force_drop=True)
    removed.append(f"PostgreSQL schema {result['tenant']}")
    logger.info("tenant %s deleted; its archive is %s", result["tenant"], result["archive"])
    return result


# --- housekeeping schedule ------------------------------------------------------------------------
HOUSEKEEPING_TASK_NAME = "flowui: tenant housekeeping (archive old run results)"  # as in migration 0004


def housekeeping_schedule_ensure() -> None:
    """Register the housekeeping dispatcher with Celery beat once (the migration does it too; this also
    restores it after a database flush). An existing entry, with its interval as edited, is kept."""
    if PeriodicTask.objects.filter(name=HOUSEKEEPING_TASK_NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=settings.FLOWUI_HOUSEKEEPING_INTERVAL_MINUTES, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.get_or_create(
        name=HOUSEKEEPING_TASK_NAME, defaults={"task": "tenants.housekeeping_dispatch", "interval": interval}
    )
