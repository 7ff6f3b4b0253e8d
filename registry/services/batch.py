"""AWS Batch (aws mode): each tenant's job definitions and job queue for the operator versions it runs."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from flowui.lib import aws
from flowui_runtime.contracts import batch_job_names
from registry.models import BatchJobDefinition, OperatorVersion
from registry.selectors import operator_versions_for_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_storage_root
from tenants.services_secrets import operator_secret_ensure


def batch_definition_ensure(
    *,
    tenant: Tenant,
    operator_version: OperatorVersion,
    job_role_arn: str,
    efs_access_point_id: str,
    compute_environment: str = "",
    efs_file_system_id: str = "",
) -> BatchJobDefinition:
    """The tenant's Batch job definition of one operator version (group image, vcpu/memory from metadata, the
    tenant's EFS access point and job role) and the tenant's job queue; idempotent, ARNs stored.

    The access point (rooted at the tenant's folder) is mounted at the tenant's storage root as Airflow sees it,
    so run folders and materialised code have the same paths in the job as in Airflow.

    Each secret the operator declares is a `secrets` entry whose value comes from the tenant's own Secrets
    Manager secret (`<arn>:<name>::`, tenants.services_secrets), resolved by ECS with the tenant's role (also
    the execution role); the operator gets exactly its declared names, from its tenant only."""
    existing = BatchJobDefinition.objects.filter(operator_version=operator_version, tenant=tenant).first()
    if existing is not None:
        return existing
    compute_environment = compute_environment or settings.FLOWUI_BATCH_COMPUTE_ENVIRONMENT
    efs_file_system_id = efs_file_system_id or settings.FLOWUI_EFS_FILE_SYSTEM_ID
    missing = [
        label
        for label, value in (
            ("job role ARN", job_role_arn),
            ("EFS access point", efs_access_point_id),
            ("compute environment (FLOWUI_BATCH_COMPUTE_ENVIRONMENT)", compute_environment),
            ("EFS file system (FLOWUI_EFS_FILE_SYSTEM_ID)", efs_file_system_id),
        )
        if not value
    ]
    if missing:
        raise ValidationError(f"Cannot define Batch jobs for {tenant.schema_name}: missing {', '.join(missing)}.")
    resources = operator_version.metadata.get("resources", {})
    definition_name, queue_name = batch_job_names(
        project=settings.PROJECT_NAME, tenant=tenant.schema_name,
        operator_name=operator_version.name, operator_version=operator_version.version,
    )  # fmt: skip
    queue_arn = aws.batch_job_queue_ensure(name=queue_name, compute_environment=compute_environment)
    declared = list(dict.fromkeys(operator_version.metadata.get("secrets", [])))
    secret_arn = operator_secret_ensure(tenant=tenant) if declared else ""
    definition_arn = aws.batch_job_definition_register(
        name=definition_name,
        image=operator_version.image,
        vcpus=float(resources.get("cpu", 1.0)),
        memory_mb=int(resources.get("memory_mb", 1024)),
        gpus=int(resources.get("gpu", 0)),
        job_role_arn=job_role_arn,
        efs_file_system_id=efs_file_system_id,
        efs_access_point_id=efs_access_point_id,
        container_path=str(tenant_storage_root(tenant=tenant)),
        environment={"FLOWUI_STORAGE_ROOT": str(tenant_storage_root(tenant=tenant))},
        secrets={name: f"{secret_arn}:{name}::" for name in declared},
        execution_role_arn=job_role_arn if declared else "",
        tags={
            "flowui:tenant": tenant.schema_name,
            "flowui:operator": f"{operator_version.repository.slug}/{operator_version.name}",
            "flowui:version": operator_version.version,
        },
    )
    try:
        with transaction.atomic():
            return BatchJobDefinition.objects.create(
                operator_version=operator_version,
                tenant=tenant,
                job_definition_name=definition_name,
                job_definition_arn=definition_arn,
                job_queue_arn=queue_arn,
            )
    except IntegrityError:
        return BatchJobDefinition.objects.get(operator_version=operator_version, tenant=tenant)


def batch_definitions_ensure_for_deploy(*, tenant: Tenant, operator_versions: list[OperatorVersion]) -> None:
    """Deploy in aws mode: the tenant's job definitions (and queue) for the operator versions its batch nodes
    run, with the tenant's provisioned role and access point; idempotent. ValidationError when the tenant has
    no provisioned role or access point yet."""
    resources = getattr(tenant, "resources", None)
    for operator_version in operator_versions:
        batch_definition_ensure(
            tenant=tenant, operator_version=operator_version,
            job_role_arn=getattr(resources, "role_arn", "") or "",
            efs_access_point_id=getattr(resources, "access_point_id", "") or "",
            efs_file_system_id=getattr(resources, "efs_file_system_id", "") or "",
        )  # fmt: skip


def batch_definitions_ensure_for_tenant(
    *,
    tenant: Tenant,
    job_role_arn: str,
    efs_access_point_id: str,
    compute_environment: str = "",
    efs_file_system_id: str = "",
) -> list[BatchJobDefinition]:
    """Job definitions for every operator version the tenant can use that allows the batch execution mode."""
    rows = []
    for version in operator_versions_for_tenant(tenant=tenant).order_by("repository__slug", "name", "created_at"):
        if "batch" not in version.metadata.get("execution_modes", ["batch"]):
            continue
        rows.append(
            batch_definition_ensure(
                tenant=tenant,
                operator_version=version,
                job_role_arn=job_role_arn,
                efs_access_point_id=efs_access_point_id,
                compute_environment=compute_environment,
                efs_file_system_id=efs_file_system_id,
            )
        )
    return rows
