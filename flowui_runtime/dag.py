"""build_dag(): the DAG a generated DAG file hands its embedded contracts.DagSpec (a dict literal) to.

A generated file is data, never code:

    from flowui_runtime.dag import build_dag  # airflow DAG
    dag = build_dag({...DagSpec as a literal...})

Airflow parses DAG files often, so this module imports only what a hand-written DAG would (the task SDK;
pydantic is already loaded by it) and does no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param

from flowui_runtime import branches, contracts
from flowui_runtime.airflow_operator import FlowUIOperator

_PARAM_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def build_dag(spec: dict[str, Any]) -> DAG:
    dag_spec = contracts.DagSpec.model_validate(spec)
    params = {}
    for param in dag_spec.params:
        json_type: Any = _PARAM_TYPES[param.type]
        if param.default is None:
            json_type = [json_type, "null"]  # no default: a run may leave it empty
        params[param.name] = Param(param.default, type=json_type, description=param.description or None)
    tags = list(dict.fromkeys([*dag_spec.tags, f"tenant:{dag_spec.tenant}", f"v{dag_spec.workflow_version}"]))
    dag = DAG(
        dag_id=dag_spec.dag_id,
        description=dag_spec.description or None,
        schedule=dag_spec.schedule or None,
        start_date=datetime.fromisoformat(dag_spec.start_date),
        catchup=False,
        tags=tags,
        params=params,
        # Airflow refuses a continuous schedule with more than one active run (its next run starts when the
        # previous one ends).
        max_active_runs=1 if dag_spec.schedule == "@continuous" else 16,
    )
    operators: dict[str, FlowUIOperator] = {}
    branch_aware = branches.branch_tasks(dag_spec.tasks)
    with dag:
        # The validated spec is handed on as the raw dicts it came from: execute() validates its TaskSpec
        # again, and re-dumping 50 models here would be parse time spent for nothing.
        for task, raw_task in zip(dag_spec.tasks, spec["tasks"], strict=True):
            extra: dict[str, Any] = {}
            if task.task_id in branch_aware:  # joins run with the branch that ran (flowui_runtime.branches)
                extra["trigger_rule"] = branches.BRANCH_TRIGGER_RULE
            operators[task.task_id] = FlowUIOperator(
                task_spec=raw_task, storage_root=dag_spec.storage_root, tenant=dag_spec.tenant, **extra
            )
    for task in dag_spec.tasks:
        # An input bound to another node's output is a dependency even if `upstream` forgot it.
        bound = [b.from_node for b in task.inputs.values() if isinstance(b, contracts.UpstreamInput)]
        conditional = [c.source for c in task.conditions]
        for upstream in dict.fromkeys([*task.upstream, *bound, *conditional]):
            if upstream not in operators:
                raise ValueError(f"task {task.task_id!r} depends on {upstream!r}, which is not a task of this DAG")
            operators[upstream] >> operators[task.task_id]
    return dag
