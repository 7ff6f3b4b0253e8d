"""Runs of many workflows at once (the runs page, the dashboard, bench/scale_workflows.py): one Airflow call for
all of them, `POST /api/v2/dags/~/dagRuns/list` with their DAG ids, instead of one call per workflow.

DAG ids derive from the tenant's own workflows (workflow_dag_id), so the call never names another tenant's DAG;
runs come back in the shape of `supervision.runs_list`, each with its `workflow`."""

from __future__ import annotations

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
