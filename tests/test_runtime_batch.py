"""AWS Batch mode against a real moto_server (Batch without Docker).

FlowUIOperator.execute() runs in Airflow's virtualenv (tests/runtime_fixtures/execute_task.py stands in for
the scheduler's task context only). moto marks a job SUCCEEDED the moment it is submitted and runs nothing,
so a "compute" thread plays the Batch host: it runs the command and environment of each submitted job (as
DescribeJobs reports them) with the entrypoint, which proves the submitted overrides actually work.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
from django.conf import settings

from flowui_runtime import contracts
from tests.conftest import MotoServer
from tests.runtime_fixtures import support

pytestmark = [pytest.mark.aws]

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_PYTHON = REPO / ".airflow-venv" / "bin" / "python"
EXECUTE_TASK = Path(support.__file__).parent / "execute_task.py"


def _batch_setup(endpoint: str) -> dict[str, str]:
    def client(service):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    role = client("iam").create_role(RoleName="rt-batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    batch = client("batch")
    environment = batch.create_compute_environment(
        computeEnvironmentName="rt-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    definition_name, queue_name = contracts.batch_job_names(
        project="flowui", tenant="acme", operator_name="rt_load", operator_version="1.0.0"
    )
    queue = batch.create_job_queue(
        jobQueueName=queue_name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )["jobQueueArn"]
    definition = batch.register_job_definition(
        jobDefinitionName=definition_name,
        type="container",
        containerProperties={
            "image": "flowui/group-default:latest",
            "command": ["true"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
        },
    )["jobDefinitionArn"]
    return {"queue": queue, "definition": definition}


def _execute(job: dict, env_extra: dict[str, str]) -> dict:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION_NAME": "us-east-1",
        "FLOWUI_BATCH_POLL_S": "0.2",
        "FLOWUI_RESULT_WAIT_S": "30",
        **env_extra,
    }
    completed = subprocess.run(
        [str(AIRFLOW_PYTHON), str(EXECUTE_TASK), json.dumps(job)], env=env, capture_output=True, text=True, timeout=180
    )
    lines = completed.stdout.strip().splitlines()
    assert lines, f"no output from execute_task.py:\n{completed.stderr[-4000:]}"
    return {**json.loads(lines[-1]), "log": completed.stdout + completed.stderr}


class BatchHost(threading.Thread):
    """Runs every submitted job's command, with its environment, as a Batch host would."""

    def __init__(self, endpoint: str, queue: str):
        super().__init__(daemon=True)
        self.batch = boto3.client(
            "batch",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1",
                                 aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        self.queue = queue
        self.stopping = threading.Event()
        self.ran: dict[str, dict] = {}

    def run(self) -> None:
        while not self.stopping.wait(0.1):
            for summary in self.batch.list_jobs(jobQueue=self.queue, jobStatus="SUCCEEDED")["jobSummaryList"]:
                if summary["jobId"] in self.ran:
                    continue
                job = self.batch.describe_jobs(jobs=[summary["jobId"]])["jobs"][0]
                command = job["container"]["command"]
                environment = {item["name"]: item["value"] for item in job["container"].get("environment", [])}
                assert command[0] == "python"  # the group image's interpreter: here, Airflow's
                # What the awslogs driver of a real host does: the job's stream in /aws/batch/job.
                stream = job["container"]["logStreamName"]
                try:
                    self.logs.create_log_group(logGroupName="/aws/batch/job")
                except self.logs.exceptions.ResourceAlreadyExistsException:
                    pass
                self.logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName=stream)
                self.logs.put_log_events(
                    logGroupName="/aws/batch/job", logStreamName=stream,
                    logEvents=[{"timestamp": int(time.time() * 1000), "message": f"batch host runs {summary['jobId']}"}],
                )  # fmt: skip
                completed = subprocess.run(
                    [str(AIRFLOW_PYTHON), *command[1:]],
                    capture_output=True,
                    text=True,
                    env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), **environment},
                )
                self.ran[summary["jobId"]] = {
                    "job": job,
                    "exit": completed.returncode,
                    "output": completed.stdout + completed.stderr,
                }


def _job(storage_root: Path, task_id: str = "load", **task_extra) -> dict:
    operator = support.operator_install(storage_root, "rt_load")
    spec = support.task(task_id, operator, {"rows": {"value": 3}}, execution_mode="batch", **task_extra)
    return {
        "task_spec": contracts.TaskSpec.model_validate(spec).model_dump(mode="json", by_alias=True),
        "storage_root": str(storage_root),
        "dag_id": "acme__rt_batch",
        "run_id": "manual__2026-01-01T00:00:00",
    }


def _env_for(resources: dict[str, str], endpoint: str) -> dict[str, str]:
    """The worker needs no setting per job definition: the runtime finds the tenant's by name."""
    return {"AWS_ENDPOINT_URL": endpoint, "PROJECT_NAME": "flowui"}


def test_it_names_job_definitions_per_tenant_and_operator_version():
    assert contracts.batch_job_names(
        project="flowui", tenant="acme", operator_name="load_csv", operator_version="1.2.0"
    ) == (
        "flowui-acme-load_csv_1_2_0",
        "flowui-acme-operators",
    )
    globex = contracts.batch_job_names(
        project="flowui", tenant="globex", operator_name="x", operator_version="2.0.0-rc.1"
    )
    assert globex[0] == "flowui-globex-x_2_0_0_rc_1"


def test_it_submits_the_job_with_definition_queue_and_overrides_and_succeeds(moto_server, tmp_path):
    resources = _batch_setup(moto_server.url)
    host = BatchHost(moto_server.url, resources["queue"])
    host.start()
    storage_root = tmp_path / "acme"
    job = _job(storage_root, resources={"cpu": 2, "memory_mb": 2048}, timeout_s=300)
    try:
        outcome = _execute(job, _env_for(resources, moto_server.url))
    finally:
        host.stopping.set()
        host.join(timeout=10)
    assert outcome["state"] == "success", outcome["log"][-4000:]
    folder = contracts.run_dir(storage_root, job["dag_id"], job["run_id"], "load")
    assert outcome["output"] == {
        "data_file": (folder / "data.csv").relative_to(storage_root).as_posix(),
        "row_count": 3,
    }
    assert outcome["pushed"] == {"flowui_files": ["data_file"]}
    assert (folder / "data.csv").read_text() == "n\n1\n2\n3\n"

    assert len(host.ran) == 1
    (ran,) = host.ran.values()
    submitted = ran["job"]
    assert ran["exit"] == 0, ran["output"]
    assert submitted["jobDefinition"] == resources["definition"]
    assert submitted["jobQueue"] == resources["queue"]
    assert submitted["jobName"].startswith("acme__rt_batch--load--manual__2026-01-01T00-00-00")
    code_dir = contracts.operator_code_dir(storage_root, contracts.OperatorRef(**job["task_spec"]["operator"]))
    assert submitted["container"]["command"] == [
        "python",
        "-m",
        "flowui_runtime",
        "run",
        "--operator-dir",
        str(code_dir),
        "--input-file",
        str(folder / "input.json"),
        "--run-dir",
        str(folder),
    ]
    environment = {item["name"]: item["value"] for item in submitted["container"]["environment"]}
    assert environment["FLOWUI_RUN_DIR"] == str(folder)
    assert environment["FLOWUI_STORAGE_ROOT"] == str(storage_root)

    # moto's DescribeJobs reports the definition's resources, not the overrides: the runner logs what it sent.
    assert f"submitted AWS Batch job {submitted['jobId']}" in outcome["log"]
    assert "2 vCPU, 2048 MiB, 0 GPU" in outcome["log"] and "is SUCCEEDED" in outcome["log"]
    # The job's CloudWatch stream was copied into the task log and log.txt.
    assert f"batch host runs {submitted['jobId']}" in outcome["log"]
    assert f"batch host runs {submitted['jobId']}" in (folder / "log.txt").read_text()


def test_it_overrides_command_environment_and_resources():
    from flowui_runtime.batch import container_overrides

    spec = contracts.TaskSpec.model_validate(
        support.task(
            "t",
            {"repository": "r", "name": "n", "version": "1", "commit": "c"},
            resources={"cpu": 0.5, "memory_mb": 3072, "gpu": 1},
            secrets=["API_KEY"],
        )
    )
    overrides = container_overrides(
        spec, code_dir=Path("/v/code"), folder=Path("/v/runs/d/r/t"), storage_root=Path("/v")
    )
    assert overrides["resourceRequirements"] == [
        {"type": "VCPU", "value": "0.5"},
        {"type": "MEMORY", "value": "3072"},
        {"type": "GPU", "value": "1"},
    ]
    assert overrides["command"][:4] == ["python", "-m", "flowui_runtime", "run"]
    # Secret values never travel in overrides (DescribeJobs would show them); the job definition holds them.
    assert "API_KEY" not in json.dumps(overrides)


@pytest.fixture(scope="module")
def failing_moto():
    server = MotoServer(Path(settings.FLOWUI_TEST_VAR) / "run-moto-batch-fail")
    server.env_extra = {"MOTO_SIMPLE_BATCH_FAIL_AFTER": "0"}
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("deferrable", ["false", "true"])
def test_it_fails_the_task_with_the_batch_failure_reason(failing_moto, tmp_path, deferrable):
    failing_moto.reset()
    resources = _batch_setup(failing_moto.url)
    job = _job(tmp_path / "acme")
    outcome = _execute(job, {**_env_for(resources, failing_moto.url), "FLOWUI_BATCH_DEFERRABLE": deferrable})
    assert outcome["state"] == "failed"
    assert "BatchError" in outcome["error"] and "FAILED: AWS Batch gave no status reason" in outcome["error"]
    assert "AWS Batch job" in outcome["error"] and "is FAILED" in outcome["log"]


def test_it_needs_the_dags_tenant_to_find_its_job_definition(tmp_path):
    outcome = _execute(_job(tmp_path / "acme") | {"tenant": ""}, {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert outcome["state"] == "failed"
    assert "needs the DAG's tenant to find its job definition" in outcome["error"]


def test_it_terminates_the_job_when_airflow_kills_the_task(moto_server, tmp_path, monkeypatch):
    import logging

    from flowui_runtime.batch import BatchRunner

    resources = _batch_setup(moto_server.url)
    for name, value in _env_for(resources, moto_server.url).items():
        monkeypatch.setenv(name, value)
    job = _job(tmp_path / "acme")
    spec = contracts.TaskSpec.model_validate(job["task_spec"])
    runner = BatchRunner(spec=spec, storage_root=tmp_path / "acme", log=logging.getLogger("test"), tenant="acme")
    folder = contracts.run_dir(tmp_path / "acme", job["dag_id"], job["run_id"], "load")
    job_id = runner.submit(code_dir=tmp_path / "code", folder=folder, name="killed-task")
    runner.on_kill()
    batch = boto3.client("batch", endpoint_url=moto_server.url, region_name="us-east-1")
    described = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    assert described["statusReason"] == "FlowUI: the Airflow task was stopped"


def test_it_defers_to_the_triggerer_and_resumes_when_the_job_finishes(moto_server, tmp_path):
    resources = _batch_setup(moto_server.url)
    host = BatchHost(moto_server.url, resources["queue"])
    host.start()
    storage_root = tmp_path / "acme"
    job = _job(storage_root)
    try:
        outcome = _execute(job, {**_env_for(resources, moto_server.url), "FLOWUI_BATCH_DEFERRABLE": "true"})
    finally:
        host.stopping.set()
        host.join(timeout=10)
    assert outcome["state"] == "success", outcome["log"][-4000:]
    assert outcome["deferred"] is True
    assert outcome["output"]["row_count"] == 3 and outcome["pushed"] == {"flowui_files": ["data_file"]}
    (ran,) = host.ran.values()
    assert ran["exit"] == 0 and f"batch host runs {ran['job']['jobId']}" in outcome["log"]
