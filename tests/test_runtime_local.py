"""The runtime in local mode inside the real Airflow started by the test suite.

DAG files are written the way the platform writes them (data handed to flowui_runtime.dag.build_dag) into
FLOWUI_DAGS_DIR/acme/ (the platform's DAGs folder, outside the tenant's storage), runs are triggered and watched through flowui.lib.airflow.AirflowClient.
All DAGs of this module are deployed and triggered together once, so Airflow runs them in parallel.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from flowui.lib.airflow import AirflowClient
from flowui_runtime import contracts, sandbox
from flowui_runtime.secrets import write_tenant_secrets
from tests.runtime_fixtures import support

pytestmark = [pytest.mark.airflow]


@pytest.fixture(scope="module")
def _volume():
    # Without a database fixture nobody has created the volume yet.
    Path(settings.VOLUME_MOUNT_PATH_HOST).mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def deployed(_volume, _airflow_settings):
    """Deploy and trigger every DAG of this module; tests then wait for their own run."""
    instance = _airflow_settings
    client = AirflowClient(instance.url, instance.username, instance.password)
    storage_root = Path(settings.VOLUME_MOUNT_PATH_HOST) / "acme"
    suffix = uuid.uuid4().hex[:6]
    ops = {
        name: support.operator_install(storage_root, name)
        for name in ("rt_load", "rt_transform", "rt_chart", "rt_fail", "rt_sleep")
    }
    secret_name = f"RT_TOKEN_{suffix}".upper()
    # The tenant's secrets file, as the platform writes it (tenants.services_secrets); tests/test_runtime_secrets.py
    # covers secrets across tenants, Airflow Variables and the worker's environment.
    write_tenant_secrets(settings.FLOWUI_SECRETS_DIR, "acme", {secret_name: "s3cret"})

    specs = {
        "pipeline": support.dag_spec(
            f"acme__rt_pipeline_{suffix}",
            storage_root,
            params=[{"name": "rows", "type": "integer", "default": 2}],
            tasks=[
                support.task("load", ops["rt_load"], {"rows": {"param": "rows"}}),
                support.task(
                    "transform",
                    ops["rt_transform"],
                    {"data_file": {"from": "load", "field": "data_file"}, "factor": {"value": 3}},
                ),
                support.task(
                    "chart",
                    ops["rt_chart"],
                    {
                        "total": {"from": "transform", "field": "total"},
                        "source_file": {"from": "transform", "field": "scaled_file"},
                        "title": {"value": "Scaled"},
                    },
                ),
            ],
        ),
        "invalid": support.dag_spec(
            f"acme__rt_invalid_{suffix}",
            storage_root,
            tasks=[support.task("load", ops["rt_load"], {"rows": {"value": "many"}}, retries=2)],
        ),
        "raises": support.dag_spec(
            f"acme__rt_raises_{suffix}",
            storage_root,
            tasks=[support.task("explode", ops["rt_fail"], {"message": {"value": "kaboom"}})],
        ),
        "timeout": support.dag_spec(
            f"acme__rt_timeout_{suffix}",
            storage_root,
            tasks=[support.task("nap", ops["rt_sleep"], {"seconds": {"value": 120}}, timeout_s=3)],
        ),
        "env": support.dag_spec(
            f"acme__rt_env_{suffix}",
            storage_root,
            tasks=[
                support.task("with_secret", ops["rt_sleep"], secrets=[secret_name]),
                support.task("without_secret", ops["rt_sleep"]),
            ],
        ),
    }
    # rt_sleep reports whether RT_TOKEN is set: point it at this run's secret name.
    sleep_dir = contracts.operator_code_dir(storage_root, contracts.OperatorRef(**ops["rt_sleep"]))
    operator_file = sleep_dir / "operator.py"
    operator_file.write_text(operator_file.read_text().replace('"RT_TOKEN"', repr(secret_name)))

    # A dependency group's virtualenv, as the registry would build it (here: a view of Airflow's own venv),
    # makes the task exec that interpreter instead of forking Airflow's.
    venv = fake_venv(Path(settings.FLOWUI_VENVS_DIR), f"rttest{suffix}")
    specs["env"]["tasks"].append(
        contracts.TaskSpec.model_validate(
            support.task("in_venv", ops["rt_sleep"], dependency_hash=venv.name)
        ).model_dump(mode="json", by_alias=True)
    )

    # The bundled operators (load -> transform -> chart), each with its dependency group's virtualenv built
    # by the registry (cached in FLOWUI_VENVS_DIR by requirements hash).
    (storage_root / "dataset").mkdir(parents=True, exist_ok=True)
    (storage_root / "dataset" / f"rt_sales_{suffix}.csv").write_text(
        "region,month,amount\nnorth,1,12\nsouth,1,30\nnorth,2,18\nnorth,3,5\nsouth,2,7\nnorth,4,25\n"
    )
    bundled = {name: support.bundled_operator_install(storage_root, name)
               for name in ("load_dataset", "filter_rows", "render_chart")}  # fmt: skip
    specs["bundled"] = support.dag_spec(
        f"acme__rt_bundled_{suffix}", storage_root,
        tasks=[
            support.task("load", bundled["load_dataset"]["ref"], {"source": {"value": f"dataset/rt_sales_{suffix}.csv"}},
                         dependency_hash=bundled["load_dataset"]["hash"]),
            support.task("transform", bundled["filter_rows"]["ref"],
                         {"dataset_path": {"from": "load", "field": "dataset_path"},
                          "conditions": {"value": [{"column": "region", "op": "==", "value": "north"}]}},
                         dependency_hash=bundled["filter_rows"]["hash"]),
            support.task("chart", bundled["render_chart"]["ref"],
                         {"dataset_path": {"from": "transform", "field": "dataset_path"},
                          "chart_type": {"value": "line"}, "x_column": {"value": "month"},
                          "y_columns": {"value": ["amount"]}, "title": {"value": "North"}},
                         dependency_hash=bundled["render_chart"]["hash"]),
        ],
    )  # fmt: skip

    # A hostile operator: what it tries must fail (test_it_keeps_a_hostile_operator_in_its_sandbox).
    hostile_ref = support.operator_install(storage_root, "rt_hostile")
    volume = Path(settings.VOLUME_MOUNT_PATH_HOST)
    (volume / "globex" / "dataset").mkdir(parents=True, exist_ok=True)
    (volume / "globex" / "dataset" / "secret.csv").write_text("globex only\n")
    forged = Path(settings.FLOWUI_TEST_VAR) / f"forged-{suffix}.json"
    forged.write_text('{"status": "success", "output": {"forged": true}}')
    dags_folder = Path(settings.FLOWUI_DAGS_DIR) / "acme"
    hostile_targets = {
        "read_other_tenant": str(volume / "globex" / "dataset" / "secret.csv"),
        "list_volume": str(volume),
        "read_checkout": str(Path(settings.BASE_DIR) / "README.md"),
        "list_airflow_home": str(instance.home),
        "list_git_cache": str(settings.FLOWUI_GIT_CACHE_DIR),
        "write_dag_folder": str(dags_folder / f"acme__planted_{suffix}.py"),
        "write_old_dag_folder_in_view": f"{sandbox.INSIDE_STORAGE}/airflow/dags/acme__planted_{suffix}.py",
        "write_host_tmp": f"/tmp/flowui-planted-{suffix}.py",
    }
    hostile_ports = {"postgres": 5432, "redis": 6379, "airflow_api": instance.port}
    specs["hostile"] = support.dag_spec(
        f"acme__rt_hostile_{suffix}",
        storage_root,
        tasks=[
            support.task(
                "probe", hostile_ref, {"targets": {"value": hostile_targets}, "ports": {"value": hostile_ports}}
            ),
            support.task("forge", hostile_ref, {"forge_result_from": {"value": str(forged)}}),
        ],
    )

    for spec in specs.values():
        support.dag_file_write(Path(settings.FLOWUI_DAGS_DIR) / "acme", spec)
    support.dags_wait(client, [spec["dag_id"] for spec in specs.values()])
    conf = {"pipeline": {"rows": 4}}
    runs = {
        key: (spec["dag_id"], support.trigger(client, spec["dag_id"], conf.get(key))) for key, spec in specs.items()
    }
    yield {"client": client, "storage_root": storage_root, "runs": runs, "secret_name": secret_name, "venv": venv,
           "hostile_targets": hostile_targets}  # fmt: skip
    shutil.rmtree(venv, ignore_errors=True)


def fake_venv(venvs_dir: Path, name: str) -> Path:
    """A virtualenv with Airflow's site-packages: its own pyvenv.cfg and bin/python, lib hard-linked (the
    sandbox mounts the venv folder alone, so a symlink out of it would lead nowhere)."""
    airflow_venv = Path(__file__).resolve().parent.parent / ".airflow-venv"
    venv = venvs_dir / name
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(airflow_venv / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "bin" / "python").symlink_to((airflow_venv / "bin" / "python").resolve())
    shutil.copytree(airflow_venv / "lib", venv / "lib", symlinks=True, copy_function=os.link)
    (venv / "rt-test-venv").touch()
    (venv / contracts.VENV_READY_MARKER).touch()
    return venv


def _finished(deployed, key):
    dag_id, run_id = deployed["runs"][key]
    state = support.run_wait(deployed["client"], dag_id, run_id)
    return dag_id, run_id, state


def _result(deployed, dag_id, run_id, task_id) -> dict:
    folder = contracts.run_dir(deployed["storage_root"], dag_id, run_id, task_id)
    return json.loads((folder / contracts.RESULT_FILE).read_text())


def test_it_runs_load_transform_chart_to_success_passing_outputs_downstream(deployed):
    dag_id, run_id, state = _finished(deployed, "pipeline")
    client = deployed["client"]
    assert state == "success", support.task_states(client, dag_id, run_id)
    assert support.task_states(client, dag_id, run_id) == {
        "load": "success",
        "transform": "success",
        "chart": "success",
    }
    root = deployed["storage_root"]
    folders = {t: contracts.run_dir(root, dag_id, run_id, t) for t in ("load", "transform", "chart")}
    for task_id, folder in folders.items():
        assert folder.is_relative_to(root / "runs" / dag_id), folder
        for name in (contracts.RESULT_FILE, contracts.LOG_FILE, contracts.INPUT_FILE):
            assert (folder / name).is_file(), f"{task_id}: {name} missing"

    # The run param (overridden at trigger) reached load; its file reached transform as an absolute path.
    assert json.loads((folders["load"] / contracts.INPUT_FILE).read_text()) == {"rows": 4}
    load = _result(deployed, dag_id, run_id, "load")
    assert load["status"] == "success" and load["files"] == ["data_file"]
    assert load["output"]["data_file"] == (folders["load"] / "data.csv").relative_to(root).as_posix()
    transform_input = json.loads((folders["transform"] / contracts.INPUT_FILE).read_text())
    # The operator sees the tenant's storage at the sandbox's neutral path, never the host's.
    inside_load = f"{sandbox.INSIDE_STORAGE}/{folders['load'].relative_to(root).as_posix()}"
    assert transform_input == {"data_file": f"{inside_load}/data.csv", "factor": 3}
    assert (folders["load"] / "data.csv").read_text() == "n\n1\n2\n3\n4\n"

    # transform's total (3 * (1+2+3+4)) and scaled file reached chart.
    chart = _result(deployed, dag_id, run_id, "chart")
    assert chart["output"]["received_total"] == 30
    assert "<h1>Scaled: 30</h1>" in (folders["chart"] / "chart.html").read_text()
    assert "transform: read" in (folders["transform"] / contracts.LOG_FILE).read_text()

    # The output is the task's XCom return value, and the operator's prints are in the Airflow task log.
    xcom = client.call(lambda api: api.xcom.get_xcom_entry(dag_id, "chart", run_id, "return_value"))
    assert xcom.actual_instance.value["received_total"] == 30
    assert "load: wrote 4 rows" in support.task_log(client, dag_id, run_id, "load")


def test_it_runs_the_bundled_load_filter_chart_operators_in_their_group_venvs(deployed):
    dag_id, run_id, state = _finished(deployed, "bundled")
    client = deployed["client"]
    assert state == "success", support.task_states(client, dag_id, run_id)
    root = deployed["storage_root"]
    load = _result(deployed, dag_id, run_id, "load")
    assert load["output"]["row_count"] == 6 and load["files"] == ["dataset_path"]
    transform = _result(deployed, dag_id, run_id, "transform")
    assert (transform["output"]["rows_in"], transform["output"]["rows_out"]) == (6, 4)
    transform_input = json.loads((contracts.run_dir(root, dag_id, run_id, "transform") / "input.json").read_text())
    assert transform_input["dataset_path"] == f"{sandbox.INSIDE_STORAGE}/{load['output']['dataset_path']}"
    chart = _result(deployed, dag_id, run_id, "chart")
    assert chart["output"]["points"] == 4
    chart_folder = contracts.run_dir(root, dag_id, run_id, "chart")
    for field in ("png_path", "html_path"):
        produced = root / chart["output"][field]
        assert produced.is_file() and produced.parent == chart_folder, produced
    assert (chart_folder / contracts.LOG_FILE).is_file()


def test_it_fails_invalid_input_with_the_validation_message_and_no_retry(deployed):
    dag_id, run_id, state = _finished(deployed, "invalid")
    client = deployed["client"]
    assert state == "failed"
    assert support.task_states(client, dag_id, run_id) == {"load": "failed"}  # retries=2, but no retry for this
    log = support.task_log(client, dag_id, run_id, "load")
    assert "Input is not valid for operator 'rt_load'" in log
    assert "rows: Input should be a valid integer" in log and "'many'" in log
    result = _result(deployed, dag_id, run_id, "load")
    assert result["status"] == "failed" and "rows" in result["error"]
    assert not (contracts.run_dir(deployed["storage_root"], dag_id, run_id, "load") / "data.csv").exists()


def test_it_fails_an_operator_that_raises_with_its_traceback_in_the_log(deployed):
    dag_id, run_id, state = _finished(deployed, "raises")
    client = deployed["client"]
    assert state == "failed"
    log = support.task_log(client, dag_id, run_id, "explode")
    assert "Traceback (most recent call last)" in log
    assert "helper_that_raises" in log and "ValueError: rt_fail says kaboom" in log
    folder = contracts.run_dir(deployed["storage_root"], dag_id, run_id, "explode")
    assert "ValueError: rt_fail says kaboom" in (folder / contracts.LOG_FILE).read_text()
    assert _result(deployed, dag_id, run_id, "explode")["status"] == "failed"


def test_it_kills_an_operator_and_its_children_on_timeout(deployed):
    dag_id, run_id, state = _finished(deployed, "timeout")
    client = deployed["client"]
    assert state == "failed"
    log = support.task_log(client, dag_id, run_id, "nap")
    assert "timed out after 3 s" in log
    folder = contracts.run_dir(deployed["storage_root"], dag_id, run_id, "nap")
    assert len((folder / "pids.txt").read_text().split()) == 2  # the operator and its child were running
    # Their pids are of the sandbox's pid namespace: find them on the host by the run folder in their argv.
    marker = (folder / "marker.txt").read_text().strip()
    survivors = [pid for pid in _pids_with_argument(marker) if _alive(pid)]
    assert not survivors, f"processes {survivors} survived the timeout"


def test_it_gives_the_operator_a_clean_environment_its_secrets_and_its_group_venv(deployed):
    dag_id, run_id, state = _finished(deployed, "env")
    assert state == "success"
    assert _result(deployed, dag_id, run_id, "with_secret")["output"]["secret_seen"] is True
    in_venv = _result(deployed, dag_id, run_id, "in_venv")["output"]
    # The group's venv (or Airflow's when the group has none) is mounted at the sandbox's neutral path.
    assert in_venv["executable"] == f"{sandbox.INSIDE_VENV}/bin/python" and in_venv["venv_marker"] is True
    without = _result(deployed, dag_id, run_id, "without_secret")["output"]
    assert without["executable"] == f"{sandbox.INSIDE_VENV}/bin/python" and without["venv_marker"] is False
    # Neither a forked nor a fresh interpreter can import the platform (Django apps) next to the runtime.
    assert in_venv["platform_importable"] is False and without["platform_importable"] is False
    assert without["secret_seen"] is False
    allowed = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "PYTHONUNBUFFERED", "FLOWUI_RUN_DIR",
               "FLOWUI_STORAGE_ROOT", "LC_CTYPE", "TMPDIR", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE",
               "PWD"}  # fmt: skip
    # The worker has AIRFLOW_* and FLOWUI_VENVS_DIR (conftest) among others: none of them reach the operator.
    assert set(without["environment"]) <= allowed, sorted(set(without["environment"]) - allowed)


def test_it_keeps_a_hostile_operator_in_its_sandbox(deployed):
    dag_id, run_id, state = _finished(deployed, "hostile")
    client = deployed["client"]
    assert support.task_states(client, dag_id, run_id) == {"probe": "success", "forge": "failed"}
    output = _result(deployed, dag_id, run_id, "probe")["output"]
    reached = {name: outcome for name, outcome in output["probes"].items() if not outcome.startswith("blocked")}
    # Its own /tmp is a private tmpfs: writing there is allowed and lands nowhere on the host.
    assert reached.keys() <= {"write_host_tmp"}, reached
    assert len(output["probes"]) == len(deployed["hostile_targets"]) + 5
    for name, path in deployed["hostile_targets"].items():
        if name.startswith("write_") and not path.startswith(sandbox.INSIDE_ROOT):
            assert not Path(path).exists(), f"{name}: {path} was written"
    assert output["secrets_in_proc"] is False
    assert max(output["visible_pids"]) < 50, output["visible_pids"]  # only its own pid namespace

    # A result.json pointing at a file of the host is refused, not read: the forged output never reaches XCom.
    log = support.task_log(client, dag_id, run_id, "forge")
    assert "the operator's result is refused" in log, log[-2000:]
    folder = contracts.run_dir(deployed["storage_root"], dag_id, run_id, "forge")
    assert (folder / contracts.RESULT_FILE).is_symlink()


def _pids_with_argument(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent is dead for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
