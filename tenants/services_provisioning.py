"""Writes of a tenant's provisioning: the step rows for the deploy mode, running one step (claimed, failures
recorded on the step), the whole pipeline here or as a Celery chain, and resuming it. tenants.provisioning
holds the steps themselves."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from flowui.lib.airflow import AirflowError
from flowui.lib.aws import AwsError
from tenants import provisioning
from tenants.models import ProvisioningStep, Tenant, TenantResources

logger = logging.getLogger(__name__)


def tenant_provisioning_plan(*, tenant: Tenant, mode: str | None = None) -> list[ProvisioningStep]:
    """The tenant's step rows for the deploy mode (existing rows are kept). The schema step is recorded as
    done with how the schema was made, when the tenant was just created."""
    mode = mode or settings.FLOWUI_DEPLOY_MODE
    resources, _ = TenantResources.objects.get_or_create(tenant=tenant, defaults={"deploy_mode": mode})
    if resources.deploy_mode != mode:
        resources.deploy_mode = mode
        resources.save(update_fields=["deploy_mode", "updated_at"])
    names = provisioning.steps_for_mode(mode)
    steps = []
    for order, name in enumerate(names):
        step, _ = ProvisioningStep.objects.get_or_create(tenant=tenant, name=name, defaults={"order": order})
        if step.order != order:
            step.order = order
            step.save(update_fields=["order", "updated_at"])
        steps.append(step)
    ProvisioningStep.objects.filter(tenant=tenant).exclude(name__in=names).delete()
    creation = getattr(tenant, "schema_creation", None)
    schema_step = steps[0]
    if creation is not None and schema_step.state != ProvisioningStep.State.DONE:
        now = timezone.now()
        schema_step.state = ProvisioningStep.State.DONE
        schema_step.started_at = now - timedelta(seconds=creation.duration_s)
        schema_step.finished_at = now
        schema_step.attempts = 1
        schema_step.output = {
            "schema": tenant.schema_name,
            "method": creation.method,
            "template": creation.template,
            "duration_s": creation.duration_s,
        }
        schema_step.save()
    return steps


def tenant_provisioning_enqueue(*, tenant: Tenant) -> None:
    """Run the steps that are not done yet as a Celery chain, after the current transaction commits."""
    from tenants.tasks import provisioning_chain  # cycle: tenants.tasks imports this module

    tenant_id = tenant.pk

    def _send() -> None:
        pipeline = provisioning_chain(tenant_id)
        if pipeline is not None:
            pipeline.apply_async()

    transaction.on_commit(_send)


def tenant_provisioning_step_run(*, tenant: Tenant, name: str) -> ProvisioningStep:
    """Run one step, unless it is done (idempotent) or an earlier step is not done (the pipeline stopped
    there). A failure is recorded on the step (state failed, error text) and not raised."""
    step = ProvisioningStep.objects.get(tenant=tenant, name=name)
    if step.state == ProvisioningStep.State.DONE:
        return step
    earlier = ProvisioningStep.objects.filter(tenant=tenant, order__lt=step.order).exclude(
        state=ProvisioningStep.State.DONE
    )
    if earlier.exists():
        return step
    # Claim the step: only one worker runs it at a time.
    claimed = ProvisioningStep.objects.filter(
        pk=step.pk, state__in=[ProvisioningStep.State.PENDING, ProvisioningStep.State.FAILED]
    ).update(
        state=ProvisioningStep.State.RUNNING,
        started_at=timezone.now(),
        finished_at=None,
        error="",
        attempts=F("attempts") + 1,
        updated_at=timezone.now(),
    )
    step.refresh_from_db()
    if not claimed:
        return step
    resources, _ = TenantResources.objects.get_or_create(
        tenant=tenant, defaults={"deploy_mode": settings.FLOWUI_DEPLOY_MODE}
    )
    try:
        with transaction.atomic():  # a database error inside the step still lets us record the failure
            output = provisioning.STEP_FUNCTIONS[name](tenant, resources)
    except (provisioning.StepError, AwsError, AirflowError, OSError) as exc:
        return _step_failed(step, str(exc))
    except Exception as exc:  # an unexpected failure still ends as a readable, retryable step
        logger.exception("provisioning step %s of %s failed", name, tenant.schema_name)
        return _step_failed(step, f"{exc.__class__.__name__}: {exc}")
    step.state = ProvisioningStep.State.DONE
    step.output = output
    step.finished_at = timezone.now()
    step.save(update_fields=["state", "output", "finished_at", "updated_at"])
    return step


def _step_failed(step: ProvisioningStep, error: str) -> ProvisioningStep:
    step.state = ProvisioningStep.State.FAILED
    step.error = f"{step.name}: {error}"
    step.finished_at = timezone.now()
    step.save(update_fields=["state", "error", "finished_at", "updated_at"])
    logger.warning("provisioning of %s stopped: %s", step.tenant.schema_name, step.error)
    return step


def tenant_provisioning_run(*, tenant: Tenant) -> list[ProvisioningStep]:
    """Run the remaining steps in order, here and now (the management command's --sync, tests)."""
    steps = []
    for step in ProvisioningStep.objects.filter(tenant=tenant).order_by("order"):
        step = tenant_provisioning_step_run(tenant=tenant, name=step.name)
        steps.append(step)
        if step.state != ProvisioningStep.State.DONE:
            break
    return steps


def tenant_provisioning_retry(*, tenant: Tenant, stale_after_s: int = 900) -> ProvisioningStep | None:
    """Resume the pipeline at its first step that is not done: a failed step goes back to pending (a step
    stuck "running" longer than `stale_after_s`, e.g. a killed worker, too). Returns that step, or None if
    every step is done (then nothing is enqueued)."""
    if not ProvisioningStep.objects.filter(tenant=tenant).exists():
        tenant_provisioning_plan(tenant=tenant)
    step = (
        ProvisioningStep.objects.filter(tenant=tenant)
        .exclude(state=ProvisioningStep.State.DONE)
        .order_by("order")
        .first()
    )
    if step is None:
        return None
    stale = (
        step.state == ProvisioningStep.State.RUNNING
        and step.started_at
        and (timezone.now() - step.started_at).total_seconds() > stale_after_s
    )
    if step.state == ProvisioningStep.State.FAILED or stale:
        step.state = ProvisioningStep.State.PENDING
        step.save(update_fields=["state", "updated_at"])
    tenant_provisioning_enqueue(tenant=tenant)
    return step
