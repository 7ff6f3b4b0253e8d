"""Celery tasks of tenants: thin, take ids, call services."""

from __future__ import annotations

from celery import chain, shared_task
from django_tenants.utils import tenant_context

from tenants.housekeeping import tenant_runs_archive
from tenants.models import ProvisioningStep, Tenant
from tenants.services_provisioning import tenant_provisioning_step_run
from workflows.services_webhooks import webhook_calls_forget


@shared_task(bind=True, name="tenants.provisioning_step")
def provisioning_step(self, tenant_id: int, step_name: str) -> str:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return "gone"
    step = tenant_provisioning_step_run(tenant=tenant, name=step_name)
    if step.state != ProvisioningStep.State.DONE:
        # Stop the chain here: later steps would refuse to run anyway (they need this one done).
        self.request.chain = None
        self.request.callbacks = None
    return step.state


def provisioning_chain(tenant_id: int):
    """One task per step that is not done yet, in pipeline order (None when all are done)."""
    names = (
        ProvisioningStep.objects.filter(tenant_id=tenant_id)
        .exclude(state=ProvisioningStep.State.DONE)
        .order_by("order")
        .values_list("name", flat=True)
    )
    # The queue is fixed here: later links are sent by the worker, whose own default queue may differ.
    queue = provisioning_step.app.conf.task_default_queue
    tasks = [provisioning_step.si(tenant_id, name).set(queue=queue) for name in names]
    return chain(*tasks) if tasks else None


@shared_task(name="tenants.housekeeping_dispatch")
def housekeeping_dispatch() -> int:
    """Celery beat: one housekeeping task per active tenant."""
    ids = list(
        Tenant.objects.filter(status=Tenant.Status.ACTIVE).exclude(schema_name="public").values_list("pk", flat=True)
    )
    for tenant_id in ids:
        tenant_housekeeping.delay(tenant_id)
    return len(ids)


@shared_task(name="tenants.tenant_housekeeping")
def tenant_housekeeping(tenant_id: int) -> dict:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {}
    report = tenant_runs_archive(tenant=tenant).as_dict()
    with tenant_context(tenant):
        report["webhook_calls_forgotten"] = webhook_calls_forget()
    return report
