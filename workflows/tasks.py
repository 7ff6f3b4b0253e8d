"""Celery tasks of workflows: thin wrappers that take ids and call services.

When Airflow is unreachable they retry with exponential backoff (capped at 60 s) until it answers; in
eager mode (tests without a worker) they do not retry (that would loop in-process) and leave the state
as waiting_for_airflow.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django_tenants.utils import tenant_context

from flowui.lib.airflow import AirflowError, AirflowUnavailable
from tenants.models import Tenant
from workflows import services
from workflows.models import DeployState, Workflow
from workflows.notifications import notifications_check

logger = logging.getLogger(__name__)

RETRY_BACKOFF_MAX_S = 60


def _tenant(tenant_id: int):
    return Tenant.objects.filter(pk=tenant_id).first()


def _retry(task, exc: Exception):
    if task.request.is_eager:
        return None
    raise task.retry(exc=exc, countdown=min(RETRY_BACKOFF_MAX_S, 2 ** min(task.request.retries, 6)))


@shared_task(bind=True, max_retries=None, acks_late=True)
def workflow_deploy_watch(self, tenant_id: int, workflow_id: int) -> str | None:
    """Follow a deploy until Airflow has the DAG at the deployed version (live) or rejects it (failed)."""
    tenant = _tenant(tenant_id)
    if tenant is None:
        return None
    with tenant_context(tenant):
        workflow = Workflow.objects.filter(pk=workflow_id).first()
        if workflow is None:
            return None
        try:
            return services.workflow_deploy_wait(tenant=tenant, workflow=workflow)
        except AirflowUnavailable as exc:
            _retry(self, exc)
            return "waiting_for_airflow"


@shared_task(bind=True, max_retries=None, acks_late=True)
def workflow_deploy_build(self, tenant_id: int, workflow_id: int) -> str | None:
    """A deploy whose dependency venvs were not built: build them (here, never in the web request), write
    the DAG file, then follow it like workflow_deploy_watch. A retry after the file is written only watches."""
    tenant = _tenant(tenant_id)
    if tenant is None:
        return None
    with tenant_context(tenant):
        workflow = Workflow.objects.filter(pk=workflow_id).first()
        if workflow is None:
            return None
        state = services.workflow_deploy_build(tenant=tenant, workflow=workflow)
        if state not in (DeployState.PENDING, DeployState.WAITING_FOR_AIRFLOW) or workflow.deploy_written_at is None:
            return state
        try:
            return services.workflow_deploy_wait(tenant=tenant, workflow=workflow)
        except AirflowUnavailable as exc:
            _retry(self, exc)
            return "waiting_for_airflow"


# How long a deleted workflow's DAG may wait for Airflow to mark it stale before it is deleted anyway.
DAG_DELETE_STALE_WAIT_S = 120


@shared_task(bind=True, max_retries=None, acks_late=True)
def airflow_dag_delete(self, tenant_id: int, dag_id: str, first_try_at: float | None = None) -> bool | None:
    """Remove a deleted workflow's DAG from Airflow (its file is already gone), once Airflow's dag-processor
    has marked it stale (see services.airflow_dag_delete); checked again every second, not blocking a worker."""
    tenant = _tenant(tenant_id)
    if tenant is None:
        return None
    first_try_at = first_try_at or time.time()
    waited = time.time() - first_try_at
    try:
        return services.airflow_dag_delete(
            tenant=tenant,
            dag_id=dag_id,
            # In eager mode (no retries) wait in place; a worker re-checks through retries instead.
            wait_stale_s=DAG_DELETE_STALE_WAIT_S if self.request.is_eager else 0.0,
            force=waited >= DAG_DELETE_STALE_WAIT_S,
        )
    except services.DagNotStaleYet as exc:
        if self.request.is_eager:
            logger.warning("Deleting DAG %s: %s after %s s; deleting anyway", dag_id, exc, DAG_DELETE_STALE_WAIT_S)
            return services.airflow_dag_delete(tenant=tenant, dag_id=dag_id, force=True)
        raise self.retry(exc=exc, countdown=1, args=(tenant_id, dag_id, first_try_at)) from None
    except AirflowError as exc:
        # Down, or 409 while tasks of the DAG still run: try again later (the file is gone already).
        if not isinstance(exc, AirflowUnavailable) and exc.status != 409:
            raise
        logger.warning("Deleting DAG %s from Airflow deferred: %s", dag_id, exc)
        _retry(self, exc)
        return None


@shared_task(name="workflows.notifications_dispatch")
def notifications_dispatch() -> int:
    """Celery beat (every FLOWUI_NOTIFY_INTERVAL_S): one notifications check per active tenant."""
    ids = list(
        Tenant.objects.filter(status=Tenant.Status.ACTIVE).exclude(schema_name="public").values_list("pk", flat=True)
    )
    for tenant_id in ids:
        notifications_check_task.delay(tenant_id)
    return len(ids)


@shared_task(name="workflows.notifications_check")
def notifications_check_task(tenant_id: int) -> int | None:
    tenant = _tenant(tenant_id)
    if tenant is None:
        return None
    with tenant_context(tenant):
        return notifications_check(tenant=tenant)
