"""Reads about tenants: memberships, storage locations, the tenant's Airflow."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q

from flowui.lib.airflow import AirflowClient
from tenants.models import ApiToken, Membership, ProvisioningStep, Tenant, TenantResources
from tenants.models_audit import AuditEvent


def membership_for(*, user, tenant: Tenant) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, tenant=tenant).select_related("tenant").first()


def api_tokens_for(*, user, tenant: Tenant):
    """The user's own tokens in this tenant, newest first (no keys: only hashes are stored)."""
    return ApiToken.objects.filter(user=user, tenant=tenant).order_by("-created_at", "-id")


def audit_events(*, tenant: Tenant, action: str = "", actor: str = ""):
    """The tenant's audit log, newest first; `actor` matches a part of the actor's name (user, token, webhook)."""
    events = AuditEvent.objects.filter(tenant=tenant)
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor_name__icontains=actor)
    return events.order_by("-created_at", "-id")


def tenants_for_user(*, user) -> list[Tenant]:
    return [m.tenant for m in Membership.objects.filter(user=user).select_related("tenant")]


def tenant_primary_domain(*, tenant: Tenant) -> str | None:
    domain = tenant.domains.filter(is_primary=True).first() or tenant.domains.first()
    return domain.domain if domain else None


def tenant_storage_root(*, tenant: Tenant) -> Path:
    """The tenant's storage root on the host (VOLUME_MOUNT_PATH_HOST/<schema>/) with the design's layout."""
    return Path(settings.VOLUME_MOUNT_PATH_HOST) / tenant.schema_name


def tenant_shared_dags_folder(*, tenant: Tenant) -> Path:
    """The tenant's folder in the shared Airflow's DAGs folder: FLOWUI_DAGS_DIR/<schema>/. Platform-only, outside
    every tenant's storage root."""
    return Path(settings.FLOWUI_DAGS_DIR) / tenant.schema_name


def tenant_dags_folder(*, tenant: Tenant) -> Path:
    """Where the tenant's DAG files are written: its dedicated Airflow's own DAG folder when one is set,
    else its folder of the shared Airflow's DAGs folder (never under its storage root)."""
    if tenant.airflow_mode == Tenant.AirflowMode.DEDICATED and tenant.airflow_dags_path:
        return Path(tenant.airflow_dags_path)
    return tenant_shared_dags_folder(tenant=tenant)


def tenant_airflow(*, tenant: Tenant):
    """The AirflowClient for this tenant: its dedicated Airflow, or the shared one."""
    if tenant.airflow_mode == Tenant.AirflowMode.DEDICATED and tenant.airflow_url:
        return AirflowClient(
            tenant.airflow_url, tenant.airflow_username, tenant.airflow_password, settings.AIRFLOW_TIMEOUT_S
        )
    return AirflowClient(
        settings.AIRFLOW_URL, settings.AIRFLOW_USERNAME, settings.AIRFLOW_PASSWORD, settings.AIRFLOW_TIMEOUT_S
    )


def tenant_dag_id_prefix(*, tenant: Tenant) -> str:
    return f"{tenant.schema_name}__"


# --- provisioning -----------------------------------------------------------------------------------
def tenants_with_provisioning():
    """Tenants (public excluded) annotated with steps_total, steps_done, steps_failed, steps_running."""
    done, failed, running = (ProvisioningStep.State.DONE, ProvisioningStep.State.FAILED, ProvisioningStep.State.RUNNING)
    return Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).annotate(
        steps_total=Count("provisioning_steps"),
        steps_done=Count("provisioning_steps", filter=Q(provisioning_steps__state=done)),
        steps_failed=Count("provisioning_steps", filter=Q(provisioning_steps__state=failed)),
        steps_running=Count("provisioning_steps", filter=Q(provisioning_steps__state=running)),
    )


def tenant_provisioning_progress(*, tenant: Tenant) -> dict:
    """{"done", "total", "percent", "state" (done/failed/running/pending/none), "failed_step", "error"}."""
    steps = list(tenant.provisioning_steps.all())
    total = len(steps)
    done = sum(1 for s in steps if s.state == "done")
    failed = next((s for s in steps if s.state == "failed"), None)
    if not total:
        state = "none"
    elif failed:
        state = "failed"
    elif done == total:
        state = "done"
    elif any(s.state == "running" for s in steps):
        state = "running"
    else:
        state = "pending"
    return {
        "done": done,
        "total": total,
        "percent": int(100 * done / total) if total else 0,
        "state": state,
        "failed_step": failed.name if failed else "",
        "error": failed.error if failed else "",
    }


def tenant_resources(*, tenant: Tenant):
    return TenantResources.objects.filter(tenant=tenant).first()
