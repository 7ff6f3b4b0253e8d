"""A further real Airflow for one test module: own AIRFLOW_HOME, DAG folder and free ports (a tenant's dedicated
Airflow, or one with the CeleryExecutor), stopped when the module is done."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings

from devstack import procs
from devstack.airflow import AirflowInstance


def free_port_triple() -> int:
    """A port whose next two are free too (api-server, worker and trigger log servers)."""
    port = procs.free_port()
    while any(procs.port_open("127.0.0.1", p) for p in (port, port + 1, port + 2)):
        port = procs.free_port()
    return port


def extra_airflow(name: str, **options) -> AirflowInstance:
    """A fresh (not started) Airflow under FLOWUI_TEST_VAR/<name>/, DAGs in its own `dags/` folder."""
    root = Path(settings.FLOWUI_TEST_VAR) / name
    if root.exists():
        shutil.rmtree(root, ignore_errors=True)
    extra_env = {
        "FLOWUI_VENVS_DIR": str(settings.FLOWUI_VENVS_DIR),
        "FLOWUI_SECRETS_DIR": str(settings.FLOWUI_SECRETS_DIR),
        **options.pop("extra_env", {}),
    }
    return AirflowInstance(
        home=root / "home",
        dags_folder=root / "dags",
        port=free_port_triple(),
        password=f"{name}-pw",
        extra_env=extra_env,
        **options,
    )
