"""AWS Batch mode: the task's entrypoint runs as a Batch job of the operator version's job definition.

- Job definition and queue are found by name: contracts.batch_job_names() of the platform's PROJECT_NAME
  (Airflow's environment, default `flowui`), the DAG's tenant and the operator version; the registry
  registers them when a workflow using them is deployed.
- The job definition (made by the registry) uses the operator's dependency-group image, which has this
  package installed, and mounts the tenant's storage at the same path Airflow sees it (storage_root), so
  the run folder and the operator code have the same paths in the job as here.
- Container overrides: the entrypoint command, FLOWUI_RUN_DIR / FLOWUI_STORAGE_ROOT, vCPU, memory, GPU.
  Secret values are never put into overrides (DescribeJobs would show them): declare them on the job
  definition (`secrets` from Secrets Manager / SSM).
- Polls DescribeJobs to a terminal state (FLOWUI_BATCH_POLL_S, default 10 s) in the worker slot, or, with
  FLOWUI_BATCH_DEFERRABLE=true, defers to Airflow's triggerer (batch_trigger.BatchJobTrigger) and frees the
  slot while the job runs (needs `airflow triggerer` running); copies the job's CloudWatch
  log stream into log.txt and the task log when there is one, reports the status reason on failure, and
  terminates the job on timeout or when Airflow kills the task.
- Batch's file writes reach Airflow's mount of the shared storage with some delay on network file systems:
  after SUCCEEDED it waits up to FLOWUI_RESULT_WAIT_S (default 30 s) for result.json.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from flowui_runtime import contracts

TERMINAL = ("SUCCEEDED", "FAILED")
LOG_GROUP = "/aws/batch/job"


class BatchError(Exception):
    """The Batch job could not be submitted, failed without a result, or timed out."""


def _client(service: str):
    import boto3  # only Batch mode needs boto3

    region = os.environ.get("AWS_REGION_NAME") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client(service, region_name=region)  # honours AWS_ENDPOINT_URL (moto in tests)


def job_name(dag_id: str, run_id: str, task_id: str) -> str:
    """Batch allows 128 letters, digits, '-' and '_'."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{dag_id}--{task_id}--{run_id}")[:128]


def container_overrides(spec: contracts.TaskSpec, *, code_dir: Path, folder: Path, storage_root: Path) -> dict:
    resources = [
        {"type": "VCPU", "value": f"{spec.resources.cpu:g}"},
        {"type": "MEMORY", "value": str(spec.resources.memory_mb)},
    ]
    if spec.resources.gpu:
        resources.append({"type": "GPU", "value": str(spec.resources.gpu)})
    return {
        "command": contracts.entrypoint_command(python="python", operator_dir=code_dir, run_dir=folder),
        "environment": [
            {"name": "FLOWUI_RUN_DIR", "value": str(folder)},
            {"name": "FLOWUI_STORAGE_ROOT", "value": str(storage_root)},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
        ],
        "resourceRequirements": resources,
    }


class BatchRunner:
    def __init__(self, *, spec: contracts.TaskSpec, storage_root: Path, log: Any, tenant: str = ""):
        self.spec = spec
        self.tenant = tenant
        self.storage_root = Path(storage_root)
        self.log = log
        self.job_id: str | None = None
        self.poll_s = float(os.environ.get("FLOWUI_BATCH_POLL_S", "10"))
        self.result_wait_s = float(os.environ.get("FLOWUI_RESULT_WAIT_S", "30"))
        self._batch = None

    @property
    def batch(self):
        if self._batch is None:
            self._batch = _client("batch")
        return self._batch

    def _fail(self, message: str) -> BatchError:
        self.log.error("FlowUI: %s", message)
        return BatchError(message)

    def job_target(self) -> tuple[str, str]:
        """(job definition name, job queue name) of this tenant's operator version."""
        if not self.tenant:
            raise self._fail(f"{self.spec.task_id}: AWS Batch mode needs the DAG's tenant to find its job definition")
        return contracts.batch_job_names(
            project=os.environ.get("PROJECT_NAME") or "flowui",
            tenant=self.tenant,
            operator_name=self.spec.operator.name,
            operator_version=self.spec.operator.version,
        )

    def submit(self, *, code_dir: Path, folder: Path, name: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        definition, queue = self.job_target()
        try:
            response = self.batch.submit_job(
                jobName=name,
                jobQueue=queue,
                jobDefinition=definition,
                containerOverrides=container_overrides(
                    self.spec, code_dir=code_dir, folder=folder, storage_root=self.storage_root
                ),
                timeout={"attemptDurationSeconds": max(60, self.spec.timeout_s)},
                tags={"flowui:task": self.spec.task_id[:256], "flowui:operator": self.spec.operator.name[:256]},
                propagateTags=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"{self.spec.task_id}: AWS Batch refused the job: {exc}") from None
        self.job_id = response["jobId"]
        self.log.info(
            "FlowUI: submitted AWS Batch job %s (%s) to queue %s with definition %s, %g vCPU, %d MiB, %d GPU",
            self.job_id, name, queue, definition,
            self.spec.resources.cpu, self.spec.resources.memory_mb, self.spec.resources.gpu,
        )  # fmt: skip
        return self.job_id

    def wait(self, job_id: str) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = time.monotonic() + self.spec.timeout_s + 60  # Batch's own attempt timeout comes first
        last_status = None
        while True:
            try:
                jobs = self.batch.describe_jobs(jobs=[job_id])["jobs"]
            except (ClientError, BotoCoreError) as exc:
                self.log.warning("FlowUI: DescribeJobs failed (%s); retrying", exc)
                jobs = []
            job = jobs[0] if jobs else {}
            status = job.get("status")
            if status != last_status and status:
                self.log.info("FlowUI: AWS Batch job %s is %s", job_id, status)
                last_status = status
            if status in TERMINAL:
                return job
            if time.monotonic() > deadline:
                self.terminate(f"FlowUI: timed out after {self.spec.timeout_s} s")
                raise self._fail(f"{self.spec.task_id}: AWS Batch job {job_id} timed out after {self.spec.timeout_s} s")
            time.sleep(self.poll_s)

    def copy_logs(self, job: dict, log_file: Path) -> None:
        stream = (job.get("container") or {}).get("logStreamName")
        if not stream:
            return
        try:
            logs = _client("logs")
            events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=True)["events"]
        except Exception as exc:  # noqa: BLE001 - logs are a convenience; the result decides the task
            self.log.info("FlowUI: no CloudWatch log for stream %s (%s)", stream, exc.__class__.__name__)
            return
        with open(log_file, "a", encoding="utf-8") as sink:
            sink.write(f"--- CloudWatch {LOG_GROUP}/{stream}\n")
            for event in events:
                sink.write(event.get("message", "") + "\n")
                self.log.info("%s", event.get("message", ""))

    def run(self, *, code_dir: Path, folder: Path, dag_id: str = "", run_id: str = "") -> int:
        job_id = self.submit(code_dir=code_dir, folder=folder, name=job_name(dag_id, run_id, self.spec.task_id))
        return self.finish(self.wait(job_id), folder=folder)

    def describe(self, job_id: str) -> dict:
        jobs = self.batch.describe_jobs(jobs=[job_id])["jobs"]
        return jobs[0] if jobs else {"jobId": job_id}

    def finish(self, job: dict, *, folder: Path) -> int:
        """After a terminal state: wait for result.json, copy the CloudWatch log, return an exit code (or raise
        with the status reason when the job failed without a result)."""
        self.job_id = job.get("jobId", self.job_id)
        result_file = folder / contracts.RESULT_FILE
        if job.get("status") == "SUCCEEDED":
            deadline = time.monotonic() + self.result_wait_s
            while not result_file.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            self.copy_logs(job, folder / contracts.LOG_FILE)
            return 0
        self.copy_logs(job, folder / contracts.LOG_FILE)
        exit_code = (job.get("container") or {}).get("exitCode")
        if result_file.exists():  # the entrypoint ran and explained the failure in result.json
            return exit_code if isinstance(exit_code, int) and exit_code else 1
        raise self._fail(f"{self.spec.task_id}: AWS Batch job {self.job_id} FAILED: {failure_reason(job)}")

    def terminate(self, reason: str = "FlowUI: the Airflow task was stopped") -> None:
        if not self.job_id:
            return
        try:
            self.batch.terminate_job(jobId=self.job_id, reason=reason)
            self.log.info("FlowUI: terminated AWS Batch job %s", self.job_id)
        except Exception as exc:  # noqa: BLE001 - best effort while the task is being killed
            self.log.warning("FlowUI: could not terminate AWS Batch job %s: %s", self.job_id, exc)

    def on_kill(self) -> None:
        self.terminate()


def failure_reason(job: dict) -> str:
    parts = []
    if job.get("statusReason"):
        parts.append(job["statusReason"])
    container = job.get("container") or {}
    if container.get("reason"):
        parts.append(f"container: {container['reason']}")
    if container.get("exitCode") is not None:
        parts.append(f"exit code {container['exitCode']}")
    for attempt in job.get("attempts") or []:
        reason = attempt.get("statusReason") or (attempt.get("container") or {}).get("reason")
        if reason and reason not in parts:
            parts.append(reason)
    return "; ".join(parts) or "AWS Batch gave no status reason"
