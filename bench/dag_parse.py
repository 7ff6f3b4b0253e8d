"""Parse time of a generated 50-task FlowUI DAG file against a hand-written DAG of the same 50 tasks as
plain PythonOperators.

    .venv/bin/python bench/dag_parse.py [--tasks 50] [--repeats 30]

The generated file comes from the real DAG writer (`workflows.dag_writer.dag_file_source`) for a DagSpec of
N chained tasks, each with literal, param and upstream inputs. Both files are parsed in the same process
by Airflow's DagBag (Airflow's own virtualenv, .airflow-venv, in a subprocess), alternately, after one
warm-up parse each (the dag-processor pre-imports a file's imports before parsing, so module import cost
is not part of a parse). Medians over `repeats` parses are compared.

The last line printed is one JSON object: {"generated_s", "handwritten_s", "ratio"}. Target: ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / "var" / "bench" / "dag_parse"
sys.path.insert(0, str(REPO))

HANDWRITTEN = '''"""Hand-written airflow DAG: {tasks} chained PythonOperators (bench/dag_parse.py)."""
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param


def step(text, times, upstream=None):
    return {{"text": text * times}}


with DAG(
    dag_id="bench__handwritten",
    description="Hand-written",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["bench"],
    params={{"greeting": Param("hi", type="string")}},
):
    previous = None
    for index in range({tasks}):
        task = PythonOperator(
            task_id=f"task_{{index}}",
            python_callable=step,
            op_kwargs={{"text": "hello", "times": 2, "upstream": f"task_{{index - 1}}"}},
            retries=1,
            doc_md=f"Task {{index}}",
        )
        if previous is not None:
            previous >> task
        previous = task
'''

PARSER = r"""
import json, statistics, sys, time
from airflow.dag_processing.dagbag import DagBag

generated, handwritten, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])

def parse(path):
    started = time.perf_counter()
    bag = DagBag(dag_folder=path, safe_mode=True)
    elapsed = time.perf_counter() - started
    if bag.import_errors or len(bag.dags) != 1:
        raise SystemExit(f"{path}: {bag.import_errors or 'no DAG'}")
    return elapsed, len(next(iter(bag.dags.values())).tasks)

parse(generated), parse(handwritten)  # warm-up: module imports, as the dag-processor pre-imports them
times = {"generated": [], "handwritten": []}
for _ in range(repeats):
    elapsed, n_generated = parse(generated)
    times["generated"].append(elapsed)
    elapsed, n_handwritten = parse(handwritten)
    times["handwritten"].append(elapsed)
assert n_generated == n_handwritten, (n_generated, n_handwritten)
print(json.dumps({k: statistics.median(v) for k, v in times.items()} | {"tasks": n_generated}))
"""


def generated_source(tasks: int) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowui.settings")
    import django

    django.setup()
    from flowui_runtime.contracts import DagSpec, OperatorRef, ParamSpec, TaskSpec
    from workflows.dag_writer import dag_file_source

    ref = OperatorRef(repository="flowui-bundled", name="echo", version="1.0.0", commit="0" * 40)
    task_specs = []
    for index in range(tasks):
        inputs = {"text": {"value": "hello"}, "times": {"value": 2}}
        if index:
            inputs["text"] = {"from": f"task_{index - 1}", "field": "text"}
        if index % 10 == 5:
            inputs["text"] = {"param": "greeting"}
        task_specs.append(
            TaskSpec(
                task_id=f"task_{index}",
                label=f"Task {index}",
                operator=ref,
                inputs=inputs,
                retries=1,
                upstream=[f"task_{index - 1}"] if index else [],
            )
        )
    spec = DagSpec(
        dag_id="bench__generated",
        tenant="bench",
        workflow_version=1,
        description="Generated",
        tags=["bench"],
        params=[ParamSpec(name="greeting", type="string", default="hi")],
        storage_root=str(HOME / "volume"),
        tasks=task_specs,
    )
    return dag_file_source(dag_spec=spec, slug="generated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    dags = HOME / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    generated = dags / "bench__generated.py"
    handwritten = dags / "bench__handwritten.py"
    generated.write_text(generated_source(args.tasks), encoding="ascii")
    handwritten.write_text(HANDWRITTEN.format(tasks=args.tasks))

    # Airflow sees only the runtime package, as in devstack.airflow.AirflowInstance.
    pythonpath = HOME / "pythonpath"
    pythonpath.mkdir(parents=True, exist_ok=True)
    link = pythonpath / "flowui_runtime"
    if not link.is_symlink():
        link.symlink_to(REPO / "flowui_runtime")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DJANGO"))}
    env.update(
        {
            "AIRFLOW_HOME": str(HOME / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "PYTHONPATH": str(pythonpath),
        }
    )
    python = os.environ.get("AIRFLOW_VENV", str(REPO / ".airflow-venv")) + "/bin/python"
    result = subprocess.run(
        [python, "-c", PARSER, str(generated), str(handwritten), str(args.repeats)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise SystemExit(f"parsing failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    medians = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{medians['tasks']} tasks, median of {args.repeats} parses each", file=sys.stderr)
    print(
        json.dumps(
            {
                "generated_s": round(medians["generated"], 4),
                "handwritten_s": round(medians["handwritten"], 4),
                "ratio": round(medians["generated"] / medians["handwritten"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
