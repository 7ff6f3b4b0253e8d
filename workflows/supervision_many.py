"""Runs of many workflows at once (the runs page, the dashboard, bench/scale_workflows.py): one Airflow call for
all of them, `POST /api/v2/dags/~/dagRuns/list` with their DAG ids, instead of one call per workflow.

DAG ids derive from the tenant's own workflows (workflow_dag_id), so the call never names another tenant's DAG;
runs come back in the shape of `supervision.runs_list`, each with its `workflow`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_client.client import DAGRunsBatchBody

from tenants.selectors import tenant_airflow
from workflows.selectors import workflow_dag_id
from workflows.supervision import RUN_STATES, _run_data

RUNS_MANY_MAX = 1000


def runs_list_many(*, tenant, workflows, limit: int = 100, state: str | None = None) -> dict[str, Any]:
    """The newest runs of `workflows`, newest first: {"count" (all matching), "results": [run + "workflow"]}.
    Raises ValueError for an unknown state, AirflowError / AirflowUnavailable like supervision."""
    by_dag = {workflow_dag_id(tenant=tenant, workflow=w): w for w in workflows}
    if not by_dag:
        return {"count": 0, "results": []}
    body: dict[str, Any] = {
        "dag_ids": sorted(by_dag),
        "order_by": "-run_after",
        "page_limit": max(1, min(int(limit), RUNS_MANY_MAX)),
    }
    if state:
        if state not in RUN_STATES:
            raise ValueError(f"state must be one of {', '.join(RUN_STATES)}")
        body["states"] = [state]
    collection = tenant_airflow(tenant=tenant).call(
        lambda api: api.dag_run.get_list_dag_runs_batch("~", DAGRunsBatchBody(**body))
    )
    results = [
        {**_run_data(run), "workflow": by_dag[run.dag_id]} for run in collection.dag_runs if run.dag_id in by_dag
    ]
    return {"count": collection.total_entries, "results": results}


def runs_ended_since_many(*, tenant, since_by_workflow: dict[Any, datetime]) -> dict[int, list[dict[str, Any]]]:
    """Finished runs (success or failed) of many workflows in one Airflow call: {workflow id: runs whose end is
    at or after that workflow's `since`, oldest end first}. The notifications check of a tenant uses it."""
    by_dag = {workflow_dag_id(tenant=tenant, workflow=w): w for w in since_by_workflow}
    if not by_dag:
        return {}
    body = DAGRunsBatchBody(
        dag_ids=sorted(by_dag),
        states=["success", "failed"],
        end_date_gte=min(since_by_workflow.values()),
        order_by="end_date",
        page_limit=RUNS_MANY_MAX,
    )
    collection = tenant_airflow(tenant=tenant).call(lambda api: api.dag_run.get_list_dag_runs_batch("~", body))
    ended: dict[int, list[dict[str, Any]]] = {w.pk: [] for w in since_by_workflow}
    for run in collection.dag_runs:
        workflow = by_dag.get(run.dag_id)
        if workflow is not None and run.end_date is not None and run.end_date >= since_by_workflow[workflow]:
            ended[workflow.pk].append(_run_data(run))
    return ended
