"""FlowUI against Airflow's CeleryExecutor with two Celery workers (issue 13 item 4).

The Airflow here is its own (extra_airflow): CeleryExecutor, broker on the platform's Redis at another database
number, its own queue, two workers with distinct Celery hostnames and concurrency 1 (so parallel tasks must
spread). FlowUI's shared Airflow settings point at it for these tests. The kill test SIGKILLs the worker running
a long task: the scheduler finds the task without heartbeat (timeout lowered to 10 s here), the task has a retry
(the node's `retries`), and the other worker runs it to success."""

from __future__ import annotations

import json
import os
import re
import signal
import textwrap
import uuid
from pathlib import Path

import pytest

from devstack import procs
from devstack.airflow import celery_broker_url
from flowui.lib.airflow import AirflowClient
from tests.airflow_support import extra_airflow
from tests.test_workflows_airflow import api, deploy_until_live, post
from tests.workflows_support import node, wait_for

pytestmark = pytest.mark.timeout(900)
WORKERS = ("flowui-w1", "flowui-w2")

NAP_MODEL = """
from pydantic import BaseModel, Field


class InputModel(BaseModel):
    seconds: float = Field(default=1, ge=0, le=120)
    label: str = "nap"


class OutputModel(BaseModel):
    label: str
"""
NAP_OPERATOR = """
import time

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    print("nap start", input_model.label, flush=True)
    time.sleep(input_model.seconds)
    print("nap done", input_model.label, flush=True)
    return OutputModel(label=input_model.label)
"""


def nap_repo_files() -> dict[str, str]:
    metadata = {"name": "nap", "version": "1.0.0", "description": "Sleeps.", "dependency_group": "default"}
    return {
        "operators/nap/model.py": textwrap.dedent(NAP_MODEL),
        "operators/nap/operator.py": textwrap.dedent(NAP_OPERATOR),
        "operators/nap/metadata.json": json.dumps(metadata),
    }


@pytest.fixture(scope="module")
def celery_airflow():
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    instance = extra_airflow(
        "airflow-celery",
        executor="celery",
        celery_broker_url=celery_broker_url(redis_url),
        celery_workers=WORKERS,
        celery_concurrency=1,
        extra_env={
            # A task whose worker died is found within seconds, and retried at once.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "10",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
        },
    )
    instance.celery_queue = f"flowui-test-{instance.port}"  # no other Airflow's workers read it
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def on_celery_airflow(celery_airflow, settings):
    """The platform's shared Airflow is the Celery one for this test (DAG files in its folder)."""
    settings.AIRFLOW_URL = celery_airflow.url
    settings.AIRFLOW_USERNAME = celery_airflow.username
    settings.AIRFLOW_PASSWORD = celery_airflow.password
    settings.FLOWUI_DAGS_DIR = celery_airflow.dags_folder
    return celery_airflow


def worker_tasks(instance, dag_id: str) -> dict[str, list[tuple[str, int]]]:
    """{worker: [(task_id, try_number), ...]} from each worker's log ("Executing workload in Celery")."""
    found: dict[str, list[tuple[str, int]]] = {}
    for worker in WORKERS:
        log = instance.run_dir / f"celery-{worker}.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        found[worker] = [
            (m.group(1), int(m.group(2)))
            for line in text.splitlines()
            if "Executing workload" in line and f"dag_id='{dag_id}'" in line
            for m in [re.search(r"task_id='([^']+)'.*?try_number=(\d+)", line)]
            if m
        ]
    return found


def create_workflow(client, spec: dict) -> str:
    created = post(client, "/api/workflows/", {"name": f"Celery {uuid.uuid4().hex[:6]}", "spec": spec})
    assert created.status_code == 201, created.content
    return created.json()["slug"]


def wait_run(client, slug: str, run_id: str, timeout_s: float = 300) -> dict:
    return wait_for(
        lambda: (lambda r: r if r["state"] in ("success", "failed") else None)(
            client.get(f"/api/workflows/{slug}/runs/{run_id}/").json()
        ),
        timeout_s=timeout_s,
        interval_s=1,
        what=f"run {run_id}",
    )


@pytest.fixture
def nap_repository(db, git_repo):
    from registry.services import repository_create, repository_sync_now

    path, _ = git_repo(nap_repo_files(), name="nap-celery")
    repository = repository_create(slug="nap-celery", name="Nap", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    return repository


def test_it_spreads_one_runs_parallel_tasks_over_both_celery_workers(
    on_celery_airflow, nap_repository, tenant_a, make_user
):
    client = api(tenant_a, make_user("celery-editor", tenant=tenant_a, role="editor"))
    nodes = [
        node(f"n{i}", {"seconds": {"value": 3}, "label": {"value": f"n{i}"}}, name="nap", repository="nap-celery")
        for i in range(4)
    ]
    slug = create_workflow(client, {"nodes": nodes, "edges": []})
    dag_id = f"acme__{slug}"
    deploy_until_live(client, slug)
    assert (on_celery_airflow.dags_folder / "acme" / f"{dag_id}.py").exists()

    triggered = post(client, f"/api/workflows/{slug}/runs/", {})
    assert triggered.status_code == 201, triggered.content
    run = wait_run(client, slug, triggered.json()["run_id"])
    assert run["state"] == "success", run
    tasks = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/").json()
    assert {t["state"] for t in tasks} == {"success"} and len(tasks) == 4

    # Each worker (concurrency 1) executed some of the four parallel tasks of this one run.
    ran = worker_tasks(on_celery_airflow, dag_id)
    assert all(ran[w] for w in WORKERS), ran
    assert sorted(t for w in WORKERS for t, _ in ran[w]) == ["n0", "n1", "n2", "n3"]
    log = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/n0/logs/?limit=5000").json()
    assert any("nap done n0" in line for line in log["lines"]), log["lines"][-20:]


def test_it_retries_a_task_on_the_other_worker_when_its_worker_is_killed(
    on_celery_airflow, nap_repository, tenant_a, make_user
):
    client = api(tenant_a, make_user("celery-killer", tenant=tenant_a, role="editor"))
    long_node = node(
        "long", {"seconds": {"value": 25}, "label": {"value": "long"}}, name="nap", repository="nap-celery"
    )
    long_node["retries"] = 1  # FlowUI passes the node's retries to Airflow: needed for the retry elsewhere
    after = node("after", {"seconds": {"value": 0}, "label": {"value": "after"}}, name="nap", repository="nap-celery")
    slug = create_workflow(client, {"nodes": [long_node, after], "edges": [{"source": "long", "target": "after"}]})
    dag_id = f"acme__{slug}"
    deploy_until_live(client, slug)
    for worker in WORKERS:  # both workers up (the first test may have run on a restarted one)
        if procs.running_pid(f"celery-{worker}", on_celery_airflow.run_dir) is None:
            on_celery_airflow.start_component(f"celery-{worker}")

    run_id = post(client, f"/api/workflows/{slug}/runs/", {}).json()["run_id"]
    victim = wait_for(
        lambda: next((w for w, ran in worker_tasks(on_celery_airflow, dag_id).items() if ("long", 1) in ran), None),
        timeout_s=120,
        interval_s=0.5,
        what="a worker to pick up the long task",
    )
    survivor = next(w for w in WORKERS if w != victim)
    wait_for(
        lambda: any(
            t["task_id"] == "long" and t["state"] == "running"
            for t in client.get(f"/api/workflows/{slug}/runs/{run_id}/tasks/").json()
        ),
        timeout_s=60,
        what="the long task to run",
    )
    pid = procs.running_pid(f"celery-{victim}", on_celery_airflow.run_dir)
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)  # the worker and its task processes die at once, as with a lost machine
    wait_for(lambda: not procs.pid_alive(pid), timeout_s=10, what="the killed worker to be gone")

    run = wait_run(client, slug, run_id, timeout_s=300)
    assert run["state"] == "success", run
    tasks = {t["task_id"]: t for t in client.get(f"/api/workflows/{slug}/runs/{run_id}/tasks/").json()}
    assert tasks["long"]["state"] == "success" and tasks["long"]["try_number"] == 2, tasks["long"]
    assert tasks["after"]["state"] == "success"
    ran = worker_tasks(on_celery_airflow, dag_id)
    assert ("long", 2) in ran[survivor] and ("long", 2) not in ran[victim], ran
    own = AirflowClient(on_celery_airflow.url, on_celery_airflow.username, on_celery_airflow.password)
    assert own.call(lambda a: a.dag_run.get_dag_run(dag_id, run_id)).state.value == "success"
    assert Path(on_celery_airflow.run_dir / f"celery-{survivor}.log").exists()
