"""Helpers for the runtime tests: install test operators into a tenant's storage, write DAG files,
trigger and watch runs through the platform's Airflow client (the REST API)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from flowui_runtime import contracts

OPERATORS = Path(__file__).resolve().parent / "operators"
REPOSITORY = "rt-tests"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def operator_install(storage_root: Path, name: str, *, version: str = "1.0.0") -> dict[str, str]:
    """Copy a test operator where the registry would materialise it; return its OperatorRef dict."""
    ref = contracts.OperatorRef(repository=REPOSITORY, name=name, version=version, commit=COMMIT)
    target = contracts.operator_code_dir(storage_root, ref)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(OPERATORS / name, target)
    return ref.model_dump()


def bundled_operator_install(storage_root: Path, name: str) -> dict:
    """A bundled operator (operators/<name>) materialised as the registry does, with its group's venv built by
    the registry's own function; returns {"ref": OperatorRef dict, "hash": dependency hash}."""
    import json

    from flowui_runtime.checks import requirements_hash
    from registry.models import DependencyGroup
    from registry.services import dependency_venv_ensure

    repo = Path(__file__).resolve().parent.parent.parent
    metadata = json.loads((repo / "operators" / name / "metadata.json").read_text())
    groups = json.loads((repo / "dependencies" / "dependencies_map.json").read_text())["groups"]
    group_name = next((g for g, spec in groups.items() if name in spec["operators"]), metadata["dependency_group"])
    requirements = groups[group_name]["requirements"]
    dependency_hash = requirements_hash(requirements)
    dependency_venv_ensure(
        DependencyGroup(name=group_name, requirements=requirements, requirements_hash=dependency_hash)
    )
    ref = contracts.OperatorRef(repository="flowui-bundled", name=name, version=metadata["version"], commit=COMMIT)
    target = contracts.operator_code_dir(storage_root, ref)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(repo / "operators" / name, target, ignore=shutil.ignore_patterns("__pycache__", "test_*"))
    return {"ref": ref.model_dump(), "hash": dependency_hash}


def task(task_id: str, operator: dict[str, str], inputs: dict[str, Any] | None = None, **extra: Any) -> dict:
    return {"task_id": task_id, "operator": operator, "inputs": inputs or {}, **extra}


def dag_spec(dag_id: str, storage_root: Path, tasks: list[dict], **extra: Any) -> dict:
    spec = {
        "dag_id": dag_id,
        "tenant": "acme",
        "workflow_version": 1,
        "storage_root": str(storage_root),
        "tasks": tasks,
        **extra,
    }
    return contracts.DagSpec.model_validate(spec).model_dump(mode="json", by_alias=True)


def dag_file_write(dags_folder: Path, spec: dict) -> Path:
    """What the platform's DAG writer produces: data handed to build_dag, no code of the workflow. `dags_folder`
    is the tenant's folder of the platform's DAGs folder (FLOWUI_DAGS_DIR/<schema>/), not its storage."""
    folder = dags_folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec['dag_id']}.py"
    path.write_text(
        "# FlowUI generated airflow DAG (test)\n"
        "from flowui_runtime.dag import build_dag\n\n"
        f"dag = build_dag({spec!r})\n"
    )
    return path


def dags_wait(client, dag_ids: list[str], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    missing = set(dag_ids)
    while missing and time.monotonic() < deadline:
        found = client.call(lambda api: api.dag.get_dags(dag_id_pattern="%rt%", limit=100))
        missing -= {dag.dag_id for dag in found.dags}
        if missing:
            time.sleep(0.5)
    if missing:
        errors = client.call(lambda api: api.import_error.get_import_errors())
        raise AssertionError(f"DAGs not visible in Airflow: {sorted(missing)}; import errors: {errors}")


def trigger(client, dag_id: str, conf: dict | None = None) -> str:
    from airflow_client.client import TriggerDAGRunPostBody

    run = client.call(
        lambda api: api.dag_run.trigger_dag_run(dag_id, TriggerDAGRunPostBody(logical_date=None, conf=conf or {}))
    )
    return run.dag_run_id


def run_wait(client, dag_id: str, run_id: str, timeout_s: float = 180) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = str(client.call(lambda api: api.dag_run.get_dag_run(dag_id, run_id)).state.value)
        if state in ("success", "failed"):
            return state
        time.sleep(0.5)
    raise AssertionError(f"{dag_id} {run_id} did not finish within {timeout_s} s")


def task_states(client, dag_id: str, run_id: str) -> dict[str, str]:
    instances = client.call(lambda api: api.task_instance.get_task_instances(dag_id, run_id))
    return {ti.task_id: (ti.state.value if ti.state else None) for ti in instances.task_instances}


def task_log(client, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
    response = client.call(
        lambda api: api.task_instance.get_log(dag_id, run_id, task_id, try_number, full_content=True)
    )
    content = response.content.actual_instance if hasattr(response.content, "actual_instance") else response.content
    if isinstance(content, list):
        return "\n".join(str(getattr(message, "event", message)) for message in content)
    return str(content)
