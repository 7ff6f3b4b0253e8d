"""Deploy (validate, materialise operator code, build venvs, write the DAG file), watch a deploy until Airflow
has the version (`live`) or names an import error (`failed`), and delete a workflow with its DAG.

All functions run in the current tenant schema and take the tenant explicitly (for storage and Airflow).
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from typing import Any

from airflow_client.client import DAGPatchBody
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flowui.lib.airflow import AirflowError, AirflowUnavailable
from flowui.lib.aws import AwsError
from flowui.lib.git import GitError
from registry.services import (
    DependencyVenvError,
    batch_definitions_ensure_for_deploy,
    dependency_groups_unbuilt,
    dependency_venv_ensure,
    operator_code_materialize,
)
from tenants.audit import audit_record
from tenants.models_audit import AuditAction
from tenants.selectors import tenant_airflow, tenant_storage_root
from workflows.dag_writer import DagWriteError, dag_file_remove, dag_file_write
from workflows.exceptions import WorkflowDeployFailed, WorkflowInvalid, WorkflowNotDeployable
from workflows.models import DeployState, Workflow, WorkflowVersion
from workflows.selectors import (
    operator_versions_for_nodes,
    version_get,
    workflow_audit_target,
    workflow_dag_file,
    workflow_dag_id,
)
from workflows.spec import has_errors, parse_spec
from workflows.validation import validate_spec

logger = logging.getLogger(__name__)

# The watch asks Airflow (one GET /dags/{id}) every 0.1 s for the first seconds, where a deploy usually goes live
# (~1 s: the dag-processor's next pass plus the parse), then every 0.5 s, so that many deploys at once (a bulk
# deploy of hundreds) do not flood Airflow's API for as long as they wait.
DEPLOY_POLL_INTERVAL_S = 0.1
DEPLOY_POLL_FAST_FOR_S = 3.0
DEPLOY_POLL_SLOW_INTERVAL_S = 0.5
DEPLOY_WAIT_TIMEOUT_S = 120.0


# --- deploy -----------------------------------------------------------------------------------
def _materialize_operators(*, tenant, version: WorkflowVersion) -> list:
    """Export the pinned operators' code into the tenant's storage; returns their OperatorVersions."""
    spec = parse_spec(version.spec)
    seen: dict[int, Any] = {}
    for operator_version in operator_versions_for_nodes(tenant=tenant, nodes=spec.nodes).values():
        if operator_version is None or operator_version.pk in seen:
            continue
        seen[operator_version.pk] = operator_version
        operator_code_materialize(tenant=tenant, operator_version=operator_version)
    return list(seen.values())


def _batch_definitions_ensure(*, tenant, version: WorkflowVersion) -> None:
    """aws mode: the tenant's Batch job definitions for the operator versions of the version's batch nodes
    (idempotent: registered once per tenant and operator version; the runtime finds them by name)."""
    if settings.FLOWUI_DEPLOY_MODE != "aws":
        return
    spec = parse_spec(version.spec)
    batch_nodes = [node for node in spec.nodes if node.execution_mode == "batch"]
    if not batch_nodes:
        return
    by_node = operator_versions_for_nodes(tenant=tenant, nodes=batch_nodes)
    unique = {v.pk: v for v in by_node.values() if v is not None}
    batch_definitions_ensure_for_deploy(tenant=tenant, operator_versions=list(unique.values()))


def _prepare_failed(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "The Batch job definitions could not be created: " + " ".join(exc.messages)
    if isinstance(exc, AwsError):
        return f"The Batch job definitions could not be created: {exc}"
    return f"The operator code could not be prepared for execution: {exc}"


def workflow_deploy(*, tenant, workflow: Workflow, user, version_number: int | None = None) -> Workflow:
    """Validate, materialise operator code, write the DAG file, and mark the deploy pending. A Celery task
    (enqueued on commit) then watches Airflow until the DAG is live at this version or failed.

    When a dependency group's venv is not built yet (local mode), nothing is built here: the deploy is
    recorded `pending` without a DAG file (deploy_written_at empty; a DAG already live keeps running) and the
    Celery task workflow_deploy_build builds the venvs, writes the file and then watches Airflow."""
    if version_number is not None:
        version = version_get(workflow=workflow, number=version_number)
    elif workflow.current_version is not None:
        version = workflow.current_version
    else:
        raise WorkflowNotDeployable("The workflow has no saved version.")
    errors = validate_spec(tenant=tenant, spec_data=version.spec)
    if has_errors(errors):
        raise WorkflowInvalid(errors, f"Version {version.number} has problems; fix them before deploying.")
    try:
        operator_versions = _materialize_operators(tenant=tenant, version=version)
        _batch_definitions_ensure(tenant=tenant, version=version)
    except (GitError, DependencyVenvError, OSError, AwsError, ValidationError) as exc:
        message = _prepare_failed(exc)
        Workflow.objects.filter(pk=workflow.pk).update(
            deploy_state=DeployState.FAILED, deploy_error=message, deploy_requested_at=timezone.now()
        )
        raise WorkflowDeployFailed(message) from None
    from workflows.tasks import workflow_deploy_build, workflow_deploy_watch  # cycle: the tasks call these services

    tenant_id, workflow_id = tenant.pk, workflow.pk
    if dependency_groups_unbuilt(operator_versions):
        now = timezone.now()
        Workflow.objects.filter(pk=workflow.pk).update(
            deploy_state=DeployState.PENDING,
            deploy_error="",
            deployed_version=version,
            deploy_requested_at=now,
            deploy_written_at=None,
            deploy_live_at=None,
            updated_at=now,
        )
        workflow.refresh_from_db()
        _audit_deploy(tenant, workflow, version, user, " (building its dependency venvs first)")
        transaction.on_commit(lambda: workflow_deploy_build.delay(tenant_id, workflow_id))
        return workflow
    _dag_write_pending(tenant=tenant, workflow=workflow, version=version)
    workflow.refresh_from_db()
    _audit_deploy(tenant, workflow, version, user)
    transaction.on_commit(lambda: workflow_deploy_watch.delay(tenant_id, workflow_id))
    return workflow


def _audit_deploy(tenant, workflow: Workflow, version: WorkflowVersion, user, note: str = "") -> None:
    audit_record(
        tenant=tenant,
        action=AuditAction.WORKFLOW_DEPLOY,
        user=user,
        detail=f"version {version.number}{note}",
        **workflow_audit_target(workflow),
    )


def _dag_write_pending(*, tenant, workflow: Workflow, version: WorkflowVersion, requested_at=None) -> bool:
    """Write the DAG file and record the deploy pending at `version`. With `requested_at` (a deploy that
    waited for its venvs) only while that deploy is still the workflow's latest; returns whether it wrote."""
    # Taken before the write: any Airflow parse of the new file finishes after this instant.
    now = timezone.now()
    if (
        requested_at is not None
        and not Workflow.objects.filter(
            pk=workflow.pk,
            deployed_version_id=version.pk,
            deploy_requested_at=requested_at,
            deploy_written_at__isnull=True,
            deploy_state=DeployState.PENDING,
        ).exists()
    ):
        return False
    try:
        dag_file_write(tenant=tenant, workflow=workflow, version=version)
    except DagWriteError as exc:
        raise WorkflowInvalid({"nodes": {}, "workflow": [str(exc)]}, str(exc)) from None
    fields = {
        "deploy_state": DeployState.PENDING,
        "deploy_error": "",
        "deployed_version": version,
        "deploy_written_at": now,
        "deploy_live_at": None,
        "updated_at": now,
    }
    if requested_at is None:
        fields["deploy_requested_at"] = now
    Workflow.objects.filter(pk=workflow.pk).update(**fields)
    return True


def workflow_deploy_build(*, tenant, workflow: Workflow) -> str:
    """The Celery side of a deploy that waits for dependency venvs (see workflow_deploy): build them (once
    per requirements hash, shared with concurrent builds), then write the DAG file. Returns the deploy state
    (pending once the file is written: the caller then watches Airflow)."""
    try:
        workflow.refresh_from_db()
    except Workflow.DoesNotExist:
        return DeployState.NOT_DEPLOYED
    if workflow.deploy_state != DeployState.PENDING or workflow.deploy_written_at is not None:
        return workflow.deploy_state  # written already (a retry), or superseded / failed meanwhile
    version = workflow.deployed_version
    if version is None:  # undeployed meanwhile
        return DeployState.NOT_DEPLOYED
    requested_at = workflow.deploy_requested_at
    try:
        operator_versions = _materialize_operators(tenant=tenant, version=version)
        for group in dependency_groups_unbuilt(operator_versions):
            dependency_venv_ensure(group)
    except (GitError, DependencyVenvError, OSError) as exc:
        _set_state(workflow, DeployState.FAILED, error=_prepare_failed(exc))
        return DeployState.FAILED
    try:
        _dag_write_pending(tenant=tenant, workflow=workflow, version=version, requested_at=requested_at)
    except WorkflowInvalid as exc:
        _set_state(workflow, DeployState.FAILED, error=str(exc))
        return DeployState.FAILED
    workflow.refresh_from_db()  # not written: a newer deploy took over, and its own task follows it
    return workflow.deploy_state


def _dag_import_error(client, dag_id: str, since) -> str | None:
    """Airflow's import error for this DAG's file, if one was recorded after `since`."""
    filename = f"{dag_id}.py"
    collection = client.call(
        lambda api: api.import_error.get_import_errors(filename_pattern=filename, limit=20, order_by=["-timestamp"])
    )
    for error in collection.import_errors or []:
        name = error.filename.replace("\\", "/")
        if name != filename and not name.endswith(f"/{filename}"):
            continue
        if since is None or error.timestamp >= since - timedelta(seconds=1):
            return error.stack_trace
    return None


def workflow_deploy_check(*, tenant, workflow: Workflow) -> str:
    """Ask Airflow once where the deploy stands and record it. Returns the deploy state.

    Live: Airflow has the DAG with the deployed version's tag (`v<number>`, set by the runtime's build_dag),
    parsed after the file was written.
    Failed: Airflow recorded an import error for the file after it was written.
    Raises AirflowUnavailable (after recording waiting_for_airflow) when Airflow cannot be asked."""
    try:
        workflow.refresh_from_db()
    except Workflow.DoesNotExist:
        return DeployState.NOT_DEPLOYED  # deleted meanwhile: nothing left to watch
    if workflow.deploy_state not in (DeployState.PENDING, DeployState.WAITING_FOR_AIRFLOW):
        return workflow.deploy_state
    if workflow.deploy_written_at is None:
        return DeployState.PENDING  # its dependency venvs are being built (workflow_deploy_build); no file yet
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    version_tag = f"v{workflow.deployed_version.number}" if workflow.deployed_version else None
    client = tenant_airflow(tenant=tenant)
    try:
        try:
            dag = client.call(lambda api: api.dag.get_dag(dag_id))
        except AirflowError as exc:
            if isinstance(exc, AirflowUnavailable) or exc.status != 404:
                raise
            dag = None
        tags = {tag.name for tag in dag.tags} if dag is not None else set()
        # Parsed since the file was written: a DAG left over from an earlier workflow with the same slug
        # (and so the same version tag) does not count.
        fresh = (
            dag is not None
            and dag.last_parsed_time is not None
            and (workflow.deploy_written_at is None or dag.last_parsed_time >= workflow.deploy_written_at)
        )
        if fresh and version_tag in tags and not dag.is_stale:
            if dag.is_paused != workflow.paused:
                paused = workflow.paused
                client.call(lambda api: api.dag.patch_dag(dag_id, _patch_body(paused)))
            _set_state(workflow, DeployState.LIVE, live=True)
            return DeployState.LIVE
        error = _dag_import_error(client, dag_id, workflow.deploy_written_at)
    except AirflowUnavailable as exc:
        _set_state(workflow, DeployState.WAITING_FOR_AIRFLOW, error=f"Waiting for Airflow: {exc}")
        raise
    if error:
        _set_state(workflow, DeployState.FAILED, error=f"Airflow could not import the DAG file:\n{error}")
        return DeployState.FAILED
    if workflow.deploy_state == DeployState.WAITING_FOR_AIRFLOW:
        _set_state(workflow, DeployState.PENDING)
    return DeployState.PENDING


def _patch_body(paused: bool):
    return DAGPatchBody(is_paused=paused)


def _set_state(workflow: Workflow, state: str, *, error: str = "", live: bool = False) -> None:
    fields: dict[str, Any] = {"deploy_state": state, "deploy_error": error}
    if live:
        fields["deploy_live_at"] = timezone.now()
    # Only move a deploy that is still the one we looked at (a newer deploy may have started).
    Workflow.objects.filter(
        pk=workflow.pk, deployed_version_id=workflow.deployed_version_id, deploy_written_at=workflow.deploy_written_at
    ).update(**fields)
    for key, value in fields.items():
        setattr(workflow, key, value)


def workflow_deploy_wait(*, tenant, workflow: Workflow, timeout_s: float = DEPLOY_WAIT_TIMEOUT_S) -> str:
    """Poll Airflow (see DEPLOY_POLL_INTERVAL_S) until the deploy is live or failed. AirflowUnavailable propagates (the
    Celery task retries); after `timeout_s` without an answer the deploy is marked failed."""
    begun = time.monotonic()
    deadline = begun + timeout_s
    while True:
        state = workflow_deploy_check(tenant=tenant, workflow=workflow)
        if state not in (DeployState.PENDING, DeployState.WAITING_FOR_AIRFLOW):
            return state
        if time.monotonic() >= deadline:
            _set_state(
                workflow,
                DeployState.FAILED,
                error=f"Airflow did not load the DAG file within {timeout_s:.0f} s; check that its DAG processor "
                "is running and reads this tenant's DAG folder, then deploy again.",
            )
            return DeployState.FAILED
        fast = time.monotonic() - begun < DEPLOY_POLL_FAST_FOR_S
        time.sleep(DEPLOY_POLL_INTERVAL_S if fast else DEPLOY_POLL_SLOW_INTERVAL_S)


# --- delete -----------------------------------------------------------------------------------
def workflow_delete(*, tenant, workflow: Workflow) -> None:
    """Remove the DAG file and the workflow, then the DAG from Airflow (Celery: once Airflow's dag-processor
    has seen the file gone, retried while Airflow is down or runs are active)."""
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    dag_file_remove(tenant=tenant, workflow=workflow)
    audit_record(tenant=tenant, action=AuditAction.WORKFLOW_DELETE, **workflow_audit_target(workflow))
    workflow.delete()
    from workflows.tasks import airflow_dag_delete  # cycle: the task calls this module's airflow_dag_delete

    tenant_id = tenant.pk
    transaction.on_commit(lambda: airflow_dag_delete.delay(tenant_id, dag_id))


class DagNotStaleYet(Exception):
    """Airflow's dag-processor has not yet marked the DAG of a removed file stale: deleting it now could race
    the processor's own UPDATE of that row (StaleDataError kills the dag-processor)."""


def airflow_dag_delete(*, tenant, dag_id: str, wait_stale_s: float = 0.0, force: bool = False) -> bool:
    """Delete a DAG of this tenant from Airflow. The id must carry the tenant's prefix; its file must be gone.

    Order matters: the file is removed first; the dag-processor then notices and marks the DAG stale (an
    UPDATE of the `dag` row of an ORM object it loaded a moment before). A DELETE in between makes that UPDATE
    match no row and the dag-processor dies with StaleDataError. So the DAG is deleted only once Airflow reports
    it stale (polled for up to `wait_stale_s`, else DagNotStaleYet for the caller to retry later); a stale DAG's
    row is never updated again by the processor (nor scheduled). `force` skips the wait (a processor that never
    marks it, e.g. because it is down for long)."""
    from tenants.selectors import tenant_dag_id_prefix

    if not dag_id.startswith(tenant_dag_id_prefix(tenant=tenant)):
        raise ValueError(f"{dag_id!r} is not a DAG of tenant {tenant.schema_name!r}")
    client = tenant_airflow(tenant=tenant)
    deadline = time.monotonic() + wait_stale_s
    try:
        while not force:
            dag = client.call(lambda api: api.dag.get_dag(dag_id))
            if dag.is_stale:
                break
            if time.monotonic() >= deadline:
                raise DagNotStaleYet(f"{dag_id} is not stale in Airflow yet")
            time.sleep(0.5)
        client.call(lambda api: api.dag.delete_dag(dag_id))
    except AirflowUnavailable:
        raise
    except AirflowError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def dag_files_restore(*, tenant) -> list[str]:
    """Write the DAG file of every deployed workflow whose file is missing (a new FLOWUI_DAGS_DIR, or the
    move of DAG files out of the tenants' storage); returns the slugs written. The files are made anew from
    the deployed versions: a file found in tenant storage (the old DAG folder) is never reused, since tenant
    code could write there, and the old folder is removed."""
    old_folder = tenant_storage_root(tenant=tenant) / "airflow" / "dags"
    if old_folder.is_dir() and not old_folder.is_symlink():
        shutil.rmtree(old_folder, ignore_errors=True)
    written = []
    deployed = Workflow.objects.filter(deployed_version__isnull=False, deploy_written_at__isnull=False)
    for workflow in deployed.select_related("deployed_version").order_by("slug"):
        version = workflow.deployed_version  # never None: the query keeps deployed workflows only
        if version is None or workflow_dag_file(tenant=tenant, workflow=workflow).exists():
            continue
        try:
            dag_file_write(tenant=tenant, workflow=workflow, version=version)
        except DagWriteError as exc:
            logger.warning("DAG file of %s/%s not restored: %s", tenant.schema_name, workflow.slug, exc)
            continue
        written.append(workflow.slug)
    return written
