"""Supervision of deployed workflows through Airflow's REST API only.

Every function takes the tenant and the workflow and derives the DAG id from them (`workflow_dag_id`):
a client never names a DAG, so a tenant can only address its own DAGs. Run and task ids from clients are
checked against a strict pattern before they reach Airflow (and Airflow's client URL-quotes them).
Airflow errors propagate as flowui.lib.airflow.AirflowError / AirflowUnavailable (the API maps them to
4xx/502 and 503).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from airflow_client.client import (
    ClearTaskInstancesBody,
    ClearTaskInstancesBodyTaskIdsInner,
    DAGPatchBody,
    DAGRunClearBody,
    DagRunMutableStates,
    DAGRunPatchBody,
    TriggerDAGRunPostBody,
)

from flowui.lib.airflow import AirflowError, AirflowUnavailable
from tenants.audit import audit_record
from tenants.models_audit import AuditAction
from tenants.selectors import tenant_airflow
from workflows.models import Workflow
from workflows.selectors import workflow_dag_id

RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.:+\-]{1,250}$")
TASK_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")
RUN_STATES = ("queued", "running", "success", "failed")
LOG_PAGE_MAX = 5000
# The conf key that records which workflow version a run triggered through FlowUI used (runs Airflow starts
# on a schedule do not carry it). Not a param of any DAG; hidden from `conf` in run data.
VERSION_CONF_KEY = "__flowui_version"


class RunNotFound(Exception):
    pass


class WorkflowNotDeployed(Exception):
    pass


class ParamsInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("The run parameters are not valid.")
        self.errors = errors


def _check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id):
        raise RunNotFound(f"No run {run_id!r} for this workflow.")
    return run_id


def _check_task_id(task_id: str) -> str:
    if not isinstance(task_id, str) or not TASK_ID_RE.match(task_id):
        raise RunNotFound(f"No task {task_id!r} in this run.")
    return task_id


def _not_found(exc: AirflowError, message: str) -> Exception:
    return RunNotFound(message) if exc.status == 404 else exc


def _write(client, fn):
    """A write to Airflow. Its SQLite metadata DB (dev, tests) answers 500 "Database error" when locked by
    the scheduler for a moment; these writes are idempotent, so try again briefly before giving up."""
    for attempt in range(3):
        try:
            return client.call(fn)
        except AirflowUnavailable as exc:
            if exc.status != 500 or attempt == 2:
                raise
            time.sleep(0.3 * (attempt + 1))
    return None  # pragma: no cover


def _run_must_exist(client, dag_id: str, run_id: str) -> None:
    """Look before writing: an unknown run is a clean 404 rather than whatever a write on it answers."""
    try:
        client.call(lambda api: api.dag_run.get_dag_run(dag_id, run_id))
    except AirflowError as exc:
        raise _not_found(exc, f"No run {run_id!r} for this workflow.") from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _enum(value: Any) -> Any:
    return getattr(value, "value", value)


# --- params -----------------------------------------------------------------------------------
def _param_specs(workflow: Workflow) -> list[dict[str, Any]]:
    version = workflow.deployed_version or workflow.current_version
    spec = version.spec if version is not None else {}
    return [p for p in (spec.get("params") or []) if isinstance(p, dict) and "name" in p]


def params_validate(*, workflow: Workflow, overrides: Any) -> dict[str, Any]:
    """Run-parameter overrides checked against the deployed version's params: known names, right types.
    Returns the conf to send to Airflow (only the overrides; defaults live in the DAG)."""
    if overrides in (None, ""):
        return {}
    if not isinstance(overrides, dict):
        raise ParamsInvalid({"params": ["must be an object of parameter names to values"]})
    specs = {p["name"]: p for p in _param_specs(workflow)}
    errors: dict[str, list[str]] = {}
    for name, value in overrides.items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none"
            errors[str(name)] = [f"unknown parameter (this workflow has: {known})"]
            continue
        kind = spec.get("type", "string")
        ok = (
            value is None
            or (kind == "string" and isinstance(value, str))
            or (kind == "integer" and isinstance(value, int) and not isinstance(value, bool))
            or (kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool))
            or (kind == "boolean" and isinstance(value, bool))
        )
        if not ok:
            errors[str(name)] = [f"must be a {kind}"]
    if errors:
        raise ParamsInvalid(errors)
    return dict(overrides)


# --- runs -------------------------------------------------------------------------------------
def _run_data(run) -> dict[str, Any]:
    versions = [v.version_number for v in (run.dag_versions or [])]
    start, end = run.start_date, run.end_date
    duration = run.duration
    if duration is None and start is not None:
        duration = ((end or datetime.now(UTC)) - start).total_seconds()
    conf = dict(run.conf or {})
    version = conf.pop(VERSION_CONF_KEY, None)
    return {
        "run_id": run.dag_run_id,
        "state": _enum(run.state),
        "run_type": _enum(run.run_type),
        "logical_date": _iso(run.logical_date),
        "run_after": _iso(run.run_after),
        "queued_at": _iso(run.queued_at),
        "start_date": _iso(start),
        "end_date": _iso(end),
        "duration_s": round(duration, 3) if duration is not None else None,
        "conf": conf,
        "workflow_version": version if isinstance(version, int) and not isinstance(version, bool) else None,
        "note": run.note or "",
        "dag_versions": versions,
        "triggered_by": run.triggering_user_name or "",
    }


def _task_data(ti) -> dict[str, Any]:
    return {
        "task_id": ti.task_id,
        "label": ti.task_display_name,
        "state": _enum(ti.state) if ti.state is not None else None,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "start_date": _iso(ti.start_date),
        "end_date": _iso(ti.end_date),
        "duration_s": round(ti.duration, 3) if ti.duration is not None else None,
        "map_index": ti.map_index,
    }


def run_trigger(*, tenant, workflow: Workflow, user=None, params: Any = None, note: str = "") -> dict[str, Any]:
    """Start a run now with optional param overrides. Raises WorkflowNotDeployed, ParamsInvalid, Airflow errors."""
    if workflow.deployed_version_id is None:
        raise WorkflowNotDeployed("Deploy the workflow before running it.")
    conf = params_validate(workflow=workflow, overrides=params)
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_id = f"flowui__{stamp}_{secrets.token_hex(3)}"
    who = user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""
    text = (note or (f"Triggered from FlowUI by {who}" if who else "Triggered from FlowUI"))[:1000]
    number = workflow.deployed_version.number if workflow.deployed_version else None
    body = TriggerDAGRunPostBody(
        dag_run_id=run_id, logical_date=None, conf={**conf, VERSION_CONF_KEY: number}, note=text
    )
    client = tenant_airflow(tenant=tenant)
    try:
        # The run id is ours, so a retry after a lost answer cannot start a second run.
        run = _write(client, lambda api: api.dag_run.trigger_dag_run(dag_id, body))
    except AirflowError as exc:
        if exc.status != 409:
            raise
        run = client.call(lambda api: api.dag_run.get_dag_run(dag_id, run_id))
    _audit(tenant, AuditAction.RUN_TRIGGER, workflow, run_id, f"params {json.dumps(conf, sort_keys=True)[:400]}", user)
    return _run_data(run)


def _audit(tenant, action: str, workflow: Workflow, run_id: str, detail: str = "", user=None) -> None:
    audit_record(
        tenant=tenant,
        action=action,
        object_type="run",
        object_id=run_id,
        object_repr=f"{workflow.slug} / {run_id}",
        detail=detail,
        user=user,
    )


def runs_list(
    *, tenant, workflow: Workflow, limit: int = 25, offset: int = 0, state: str | None = None
) -> dict[str, Any]:
    """The workflow's runs, newest first: {"count", "results": [run...]}."""
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    kwargs: dict[str, Any] = {
        "limit": max(1, min(int(limit), 100)),
        "offset": max(0, int(offset)),
        "order_by": ["-run_after"],
    }
    if state:
        if state not in RUN_STATES:
            raise ValueError(f"state must be one of {', '.join(RUN_STATES)}")
        kwargs["state"] = [state]
    try:
        collection = tenant_airflow(tenant=tenant).call(lambda api: api.dag_run.get_dag_runs(dag_id, **kwargs))
    except AirflowError as exc:
        if exc.status == 404:  # never deployed, or not parsed yet: no runs
            return {"count": 0, "results": []}
        raise
    return {"count": collection.total_entries, "results": [_run_data(r) for r in collection.dag_runs]}


def tasks_in_state(*, tenant, workflow: Workflow, states: list[str], limit: int = 100) -> list[dict[str, Any]]:
    """Task instances of any run of the workflow in one of `states` (e.g. up_for_retry), with their run id."""
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    try:
        collection = tenant_airflow(tenant=tenant).call(
            lambda api: api.task_instance.get_task_instances(dag_id, "~", state=list(states), limit=limit)
        )
    except AirflowError as exc:
        if exc.status == 404:
            return []
        raise
    return [{**_task_data(ti), "run_id": ti.dag_run_id} for ti in collection.task_instances]


def run_get(*, tenant, workflow: Workflow, run_id: str) -> dict[str, Any]:
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    _check_run_id(run_id)
    try:
        run = tenant_airflow(tenant=tenant).call(lambda api: api.dag_run.get_dag_run(dag_id, run_id))
    except AirflowError as exc:
        raise _not_found(exc, f"No run {run_id!r} for this workflow.") from None
    return _run_data(run)


def task_instances_list(*, tenant, workflow: Workflow, run_id: str) -> list[dict[str, Any]]:
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    _check_run_id(run_id)
    try:
        collection = tenant_airflow(tenant=tenant).call(
            lambda api: api.task_instance.get_task_instances(dag_id, run_id, limit=500)
        )
    except AirflowError as exc:
        raise _not_found(exc, f"No run {run_id!r} for this workflow.") from None
    return [
        _task_data(ti)
        for ti in sorted(collection.task_instances, key=lambda t: (t.start_date is None, t.start_date or 0, t.task_id))
    ]


def run_detail(*, tenant, workflow: Workflow, run_id: str) -> dict[str, Any]:
    """A run with its task instances."""
    data = run_get(tenant=tenant, workflow=workflow, run_id=run_id)
    data["tasks"] = task_instances_list(tenant=tenant, workflow=workflow, run_id=run_id)
    return data


def run_clear(*, tenant, workflow: Workflow, run_id: str, only_failed: bool = False) -> dict[str, Any]:
    """Clear a whole run (all tasks, or only the failed ones): Airflow runs them again."""
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    _check_run_id(run_id)
    body = DAGRunClearBody(dry_run=False, only_failed=bool(only_failed))
    client = tenant_airflow(tenant=tenant)
    _run_must_exist(client, dag_id, run_id)
    try:
        _write(client, lambda api: api.dag_run.clear_dag_run(dag_id, run_id, body))
    except AirflowError as exc:
        raise _not_found(exc, f"No run {run_id!r} for this workflow.") from None
    _audit(tenant, AuditAction.RUN_CLEAR, workflow, run_id, "failed tasks only" if only_failed else "all tasks")
    return run_get(tenant=tenant, workflow=workflow, run_id=run_id)


def task_clear(
    *, tenant, workflow: Workflow, run_id: str, task_ids: list[str], include_downstream: bool = True
) -> list[str]:
    """Clear (retry) tasks of a run, by default with their downstream tasks. Returns the cleared task ids."""
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    _check_run_id(run_id)
    if not task_ids:
        raise RunNotFound("Name at least one task to clear.")
    for task_id in task_ids:
        _check_task_id(task_id)
    body = ClearTaskInstancesBody(
        dry_run=False,
        dag_run_id=run_id,
        task_ids=[ClearTaskInstancesBodyTaskIdsInner(t) for t in task_ids],
        only_failed=False,
        include_downstream=bool(include_downstream),
        reset_dag_runs=True,
    )
    client = tenant_airflow(tenant=tenant)
    _run_must_exist(client, dag_id, run_id)
    try:
        result = _write(client, lambda api: api.task_instance.post_clear_task_instances(dag_id, body))
    except AirflowError as exc:
        raise _not_found(exc, f"No run {run_id!r} for this workflow.") from None
    cleared = sorted({ti.task_id for ti in result.task_instances or []})
    _audit(
        tenant,
        AuditAction.TASK_RETRY,
        workflow,
        run_id,
        f"tasks {', '.join(task_ids)[:200]}; cleared {', '.join(cleared)[:250]}",
    )
    return cleared


def run_cancel(*, tenant, workflow: Workflow, run_id: str) -> dict[str, Any]:
    """Mark a run failed: Airflow stops its running tasks and schedules no more."""
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    _check_run_id(run_id)
    body = DAGRunPatchBody(state=DagRunMutableStates.FAILED)
    client = tenant_airflow(tenant=tenant)
    _run_must_exist(client, dag_id, run_id)
    try:
        run = _write(client, lambda api: api.dag_run.patch_dag_run(dag_id, run_id, body, update_mask=["state"]))
    except AirflowError as exc:
        raise _not_found(exc, f"No run {run_id!r} for this workflow.") from None
    _audit(tenant, AuditAction.RUN_CANCEL, workflow, run_id, "marked failed")
    return _run_data(run)


def workflow_pause_set(*, tenant, workflow: Workflow, paused: bool) -> Workflow:
    """Pause or unpause the schedule. Recorded on the workflow (applied on deploy) and sent to Airflow when
    the DAG exists there."""
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    if workflow.deployed_version_id is not None:
        try:
            _write(
                tenant_airflow(tenant=tenant),
                lambda api: api.dag.patch_dag(dag_id, DAGPatchBody(is_paused=bool(paused))),
            )
        except AirflowError as exc:
            if exc.status != 404:
                raise
    Workflow.objects.filter(pk=workflow.pk).update(paused=bool(paused))
    workflow.paused = bool(paused)
    audit_record(
        tenant=tenant,
        action=AuditAction.WORKFLOW_PAUSE if paused else AuditAction.WORKFLOW_UNPAUSE,
        object_type="workflow",
        object_id=workflow.slug,
        object_repr=workflow.name,
    )
    return workflow
