"""flowui_runtime.dag.build_dag in Airflow's own interpreter (what the dag-processor runs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_PYTHON = REPO / ".airflow-venv" / "bin" / "python"

BUILD = """
import json, sys
from flowui_runtime.dag import build_dag
dag = build_dag(json.loads(sys.argv[1]))
print(json.dumps({"max_active_runs": dag.max_active_runs, "timetable": type(dag.timetable).__name__}))
"""


@pytest.mark.parametrize(("schedule", "runs", "timetable"), [("@continuous", 1, "ContinuousTimetable"),
                                                            ("@daily", 16, "CronTriggerTimetable")])  # fmt: skip
def test_it_builds_scheduled_dags_airflow_accepts(tmp_path, schedule, runs, timetable):
    spec = {
        "dag_id": "acme__sched", "tenant": "acme", "workflow_version": 1, "schedule": schedule,
        "storage_root": str(tmp_path), "tasks": [],
    }  # fmt: skip
    completed = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", BUILD, json.dumps(spec)],
        cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    built = json.loads(completed.stdout.strip().splitlines()[-1])
    assert built["max_active_runs"] == runs
    assert built["timetable"] == timetable
