"""What FlowUIOperator (local mode) costs per task compared with a bare PythonOperator.

    .venv/bin/python bench/task_overhead.py [--repeats 3] [--tasks 10]

Starts its own Airflow (devstack.airflow.AirflowInstance, free ports, home under var/bench/task_overhead/),
deploys two DAGs of N chained trivial tasks, one through FlowUIOperator (each task runs a no-op registry
operator through the entrypoint subprocess, with input validation, result.json and XCom) and one of bare
PythonOperators, runs them alternately `repeats` times and compares the medians of the DAG runs' durations
(Airflow's start_date to end_date). The last line printed is one JSON object:
{"flowui_total_s": .., "bare_total_s": .., "ratio": ..}. Target: ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devstack import procs  # noqa: E402
from devstack.airflow import AirflowInstance  # noqa: E402
from flowui_runtime import contracts  # noqa: E402

HOME = REPO / "var" / "bench" / "task_overhead"
TENANT = "bench"
NOOP_MODEL = """from pydantic import BaseModel


class InputModel(BaseModel):
    n: int


class OutputModel(BaseModel):
    n: int
"""
NOOP_OPERATOR = """from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    return OutputModel(n=input_model.n + 1)
"""
BARE_DAG = """# Bare airflow DAG for bench/task_overhead.py
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def step(n):
    return {{"n": n + 1}}


with DAG("bench__bare", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    previous = None
    for index in range({tasks}):
        task = PythonOperator(task_id=f"t{{index}}", python_callable=step, op_kwargs={{"n": index}})
        if previous is not None:
            previous >> task
        previous = task
"""


class Api:
    def __init__(self, instance: AirflowInstance):
        self.url = instance.url
        body = json.dumps({"username": instance.username, "password": instance.password}).encode()
        request = urllib.request.Request(f"{self.url}/auth/token", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        self.token = json.loads(urllib.request.urlopen(request, timeout=10).read())["access_token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        return json.loads(urllib.request.urlopen(request, timeout=30).read())


def deploy(storage_root: Path, dags: Path, tasks: int) -> None:
    ref = contracts.OperatorRef(repository="bench", name="noop", version="1.0.0", commit="bench")
    code_dir = contracts.operator_code_dir(storage_root, ref)
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "model.py").write_text(NOOP_MODEL)
    (code_dir / "operator.py").write_text(NOOP_OPERATOR)
    task_specs = []
    for index in range(tasks):
        inputs = {"n": {"from": f"t{index - 1}", "field": "n"}} if index else {"n": {"value": 0}}
        task_specs.append({"task_id": f"t{index}", "operator": ref.model_dump(), "inputs": inputs})
    spec = contracts.DagSpec(dag_id="bench__flowui", tenant=TENANT, workflow_version=1,
                             storage_root=str(storage_root), tasks=task_specs)  # fmt: skip
    dags.mkdir(parents=True, exist_ok=True)  # the platform's DAGs folder, outside the tenant's storage
    (dags / "bench__flowui.py").write_text(
        "# FlowUI generated airflow DAG (bench)\nfrom flowui_runtime.dag import build_dag\n\n"
        f"dag = build_dag({spec.model_dump(mode='json', by_alias=True)!r})\n"
    )
    (dags / "bench__bare.py").write_text(BARE_DAG.format(tasks=tasks))


def wait_for_dags(api: Api, dag_ids: list[str], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = {dag["dag_id"] for dag in api.call("GET", "/dags?dag_id_pattern=bench__%25")["dags"]}
        if set(dag_ids) <= found:
            return
        time.sleep(0.5)
    errors = api.call("GET", "/importErrors")
    raise SystemExit(f"DAGs {dag_ids} not visible after {timeout_s} s; import errors: {errors}")


def run_once(api: Api, dag_id: str, timeout_s: float = 300) -> float:
    run = api.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})
    run_id = run["dag_run_id"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = api.call("GET", f"/dags/{dag_id}/dagRuns/{urllib.request.quote(run_id, safe='')}")
        if run["state"] in ("success", "failed"):
            break
        time.sleep(0.3)
    else:
        raise SystemExit(f"{dag_id} run {run_id} did not finish in {timeout_s} s")
    if run["state"] != "success":
        raise SystemExit(f"{dag_id} run {run_id} failed: see {HOME / 'airflow' / 'logs'}")
    started = datetime.fromisoformat(run["start_date"].replace("Z", "+00:00"))
    ended = datetime.fromisoformat(run["end_date"].replace("Z", "+00:00"))
    return (ended - started).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=10)
    args = parser.parse_args()

    volume, dags = HOME / "volume", HOME / "dags"
    for folder in (volume, dags):
        if folder.exists():
            shutil.rmtree(folder)
    storage_root = volume / TENANT
    instance = AirflowInstance(home=HOME / "airflow", dags_folder=dags, port=procs.free_port(), password="bench")
    while any(procs.port_open("127.0.0.1", p) for p in (instance.port + 1, instance.port + 2)):
        instance.port = procs.free_port()
    deploy(storage_root, dags / TENANT, args.tasks)
    print(f"starting Airflow at {instance.url} (home {instance.home})", flush=True)
    instance.start()
    try:
        api = Api(instance)
        wait_for_dags(api, ["bench__flowui", "bench__bare"])
        run_once(api, "bench__bare")  # warm-up: the first run pays for the workers' imports
        run_once(api, "bench__flowui")
        durations: dict[str, list[float]] = {"bench__flowui": [], "bench__bare": []}
        for repeat in range(args.repeats):
            for dag_id in ("bench__bare", "bench__flowui"):
                durations[dag_id].append(run_once(api, dag_id))
            print(f"repeat {repeat + 1}: bare {durations['bench__bare'][-1]:.2f} s, "
                  f"flowui {durations['bench__flowui'][-1]:.2f} s", flush=True)  # fmt: skip
    finally:
        instance.stop()
    flowui_total = statistics.median(durations["bench__flowui"])
    bare_total = statistics.median(durations["bench__bare"])
    print(f"{args.tasks} chained tasks, median of {args.repeats} runs each")
    print(json.dumps({"flowui_total_s": round(flowui_total, 3), "bare_total_s": round(bare_total, 3),
                      "ratio": round(flowui_total / bare_total, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
