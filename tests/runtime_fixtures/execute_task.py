"""Run FlowUIOperator.execute() outside a scheduler, in Airflow's virtualenv (the platform's has no Airflow).

    .airflow-venv/bin/python execute_task.py '{"task_spec": {...}, "storage_root": "...", "dag_id": "...",
                                              "run_id": "...", "params": {}, "xcoms": {"task": {...}}}'

Only Airflow's task context is stood in for (run_id, params, a task instance holding XComs); the FlowUI code
under test is the real one. Prints one JSON line last: {"state": "success"|"failed", "output"|"error": ...}.
"""

import json
import sys
import traceback
from datetime import datetime

from airflow.sdk import DAG

from flowui_runtime.airflow_operator import FlowUIOperator


class TaskInstanceStandIn:
    def __init__(self, xcoms):
        self.xcoms = {(task, "return_value"): value for task, value in xcoms.items()}
        self.pushed = {}

    def xcom_pull(self, task_ids=None, key="return_value", **_):
        return self.xcoms.get((task_ids, key))

    def xcom_push(self, key, value, **_):
        self.pushed[key] = value


def main() -> None:
    job = json.loads(sys.argv[1])
    with DAG(job["dag_id"], schedule=None, start_date=datetime(2024, 1, 1)):
        operator = FlowUIOperator(task_spec=job["task_spec"], storage_root=job["storage_root"])
    ti = TaskInstanceStandIn(job.get("xcoms", {}))
    context = {"run_id": job["run_id"], "params": job.get("params", {}), "ti": ti}
    try:
        output = operator.execute(context)
    except Exception as exc:
        traceback.print_exc()
        print(json.dumps({"state": "failed", "error": f"{exc.__class__.__name__}: {exc}"}))
        return
    print(json.dumps({"state": "success", "output": output, "pushed": ti.pushed}))


if __name__ == "__main__":
    main()
