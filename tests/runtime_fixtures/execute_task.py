"""Run FlowUIOperator.execute() outside a scheduler, in Airflow's virtualenv (the platform's has no Airflow).

    .airflow-venv/bin/python execute_task.py '{"task_spec": {...}, "storage_root": "...", "dag_id": "...",
                                              "run_id": "...", "params": {}, "xcoms": {"task": {...}}}'

Only Airflow's task context is stood in for (run_id, params, a task instance holding XComs), and the
triggerer for deferred tasks; the FlowUI code under test is the real one. Prints one JSON line last: {"state": "success"|"failed", "output"|"error": ...}.
"""

import asyncio
import importlib
import json
import sys
import traceback
from datetime import datetime

from airflow.sdk import DAG
from airflow.sdk.exceptions import TaskDeferred

from flowui_runtime.airflow_operator import FlowUIOperator


class TaskInstanceStandIn:
    def __init__(self, xcoms):
        self.xcoms = {(task, "return_value"): value for task, value in xcoms.items()}
        self.pushed = {}

    def xcom_pull(self, task_ids=None, key="return_value", **_):
        return self.xcoms.get((task_ids, key))

    def xcom_push(self, key, value, **_):
        self.pushed[key] = value


async def _first_event(trigger):
    async for event in trigger.run():
        return event


def main() -> None:
    job = json.loads(sys.argv[1])
    with DAG(job["dag_id"], schedule=None, start_date=datetime(2024, 1, 1)):
        operator = FlowUIOperator(
            task_spec=job["task_spec"], storage_root=job["storage_root"], tenant=job.get("tenant", "acme")
        )
    ti = TaskInstanceStandIn(job.get("xcoms", {}))
    context = {"run_id": job["run_id"], "params": job.get("params", {}), "ti": ti}
    deferred = False
    try:
        try:
            output = operator.execute(context)
        except TaskDeferred as deferral:
            # What Airflow does: the triggerer rebuilds the trigger from serialize() and runs it until its
            # first event; a worker then resumes the task with that event.
            deferred = True
            classpath, kwargs = deferral.trigger.serialize()
            module, _, name = classpath.rpartition(".")
            trigger = getattr(importlib.import_module(module), name)(**kwargs)
            event = asyncio.run(_first_event(trigger))
            output = getattr(operator, deferral.method_name)(context, event=event.payload, **(deferral.kwargs or {}))
    except Exception as exc:
        traceback.print_exc()
        print(json.dumps({"state": "failed", "error": f"{exc.__class__.__name__}: {exc}"}))
        return
    print(json.dumps({"state": "success", "output": output, "pushed": ti.pushed, "deferred": deferred}))


if __name__ == "__main__":
    main()
