"""FlowUIOperator: the one Airflow operator generated DAGs use, for every registry operator and mode.

execute() resolves the node's inputs (literals, run params, fields of an upstream task's output), writes
input.json into `runs/{dag_id}/{run_id}/{task_id}/` under the tenant's storage root, runs the container
entrypoint (`python -m flowui_runtime run ...`) in the node's execution mode, reads result.json and returns
the output dict (Airflow pushes it as the task's XCom return value).

Files travel between tasks as paths relative to the storage root (result.json `files`, pushed as the XCom
key `flowui_files`); a downstream input bound to such a field receives the absolute path in its own mount.

Local mode runs the entrypoint as a child process of the Airflow task:
- interpreter: FLOWUI_VENVS_DIR/<dependency_hash>/bin/python when that virtualenv is completely built (the
  registry's contracts.VENV_READY_MARKER is in it), started fresh; otherwise Airflow's own interpreter, also
  started fresh, so operators whose needs Airflow's environment covers run without a build.
  FLOWUI_LOCAL_FORK=true forks that child from the task process instead (faster, see
  local_process.fork_entrypoint). It is off by default: a forked child keeps the task process's memory,
  including the worker's original environment block (/proc/self/environ), which holds Airflow's secrets; only
  trusted operators may see it;
- environment: PATH, HOME, LANG, LC_ALL, TZ, FLOWUI_RUN_DIR, FLOWUI_STORAGE_ROOT, PYTHONPATH pointing at
  this package, and only the secrets the operator declares, from its tenant's secrets file (see
  flowui_runtime.secrets; never the worker's environment or Airflow Variables); nothing else of the worker's
  environment (its FLOWUI_* settings included). Their values are masked in the task log and log.txt;
- its own process group, killed (TERM, then KILL) on timeout_s or when Airflow kills the task;
- stdout and stderr, merged, go line by line into the Airflow task log and into log.txt.

Imports nothing from Django; boto3 and kubernetes are imported by their modes only.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from flowui_runtime import branches, contracts, safefs, sandbox
from flowui_runtime.local_process import fork_entrypoint, kill_process_group, popen_entrypoint, run_streaming
from flowui_runtime.runtime_path import runtime_pythonpath
from flowui_runtime.secrets import SecretsError, airflow_mask, tenant_secret_values

FILES_XCOM_KEY = "flowui_files"
# Exit codes of the entrypoint (see entrypoint.py) for which a retry cannot help.
_PERMANENT_EXIT_CODES = {2, 3}
# XCom lives in Airflow's database: outputs are meant to be small values and file paths.
_XCOM_WARN_BYTES = 64 * 1024
_ENV_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
_SANDBOX_ENV_PASSTHROUGH = ("LANG", "LC_ALL", "TZ")
# result.json is written by tenant code: the platform reads at most this much of it.
_RESULT_MAX_BYTES = 16 * 1024 * 1024


class FlowUIOperator(BaseOperator):
    """Runs one registry operator version. `task_spec` is a contracts.TaskSpec as a dict."""

    ui_color = "#4a6fa5"

    def __init__(self, *, task_spec: dict[str, Any], storage_root: str, tenant: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("task_id", task_spec["task_id"])
        kwargs.setdefault("retries", task_spec.get("retries", 0))
        timeout_s = task_spec.get("timeout_s", 3600)
        # Our own timeout kills the process group with a clear message; Airflow's is the backstop.
        kwargs.setdefault("execution_timeout", timedelta(seconds=timeout_s + 120))
        if task_spec.get("label"):
            kwargs.setdefault("doc_md", task_spec["label"])
        super().__init__(**kwargs)
        self.task_spec = task_spec
        self.storage_root = storage_root
        self.tenant = tenant
        self._process: Any = None  # a Popen or a ForkedProcess while the local child runs
        self._mode_runner: Any = None

    # --- execute ------------------------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        spec = contracts.TaskSpec.model_validate(self.task_spec)
        self._branch_check(spec, context)
        storage_root = Path(self.storage_root)
        folder = contracts.run_dir(storage_root, self.dag_id, context["run_id"], spec.task_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / contracts.RESULT_FILE).unlink(missing_ok=True)  # a retry must not read the last try's result

        # Upstream files are handed over as absolute paths where the operator sees the storage root.
        operator_root = Path(sandbox.INSIDE_STORAGE) if self._sandboxed(spec) else storage_root
        input_values = self.resolve_inputs(spec, context, operator_root)
        # A previous try's tenant code may have left a symlink in the run folder: never write through it.
        safefs.write_new(folder / contracts.INPUT_FILE, json.dumps(input_values, indent=2, default=str))
        self.log.info(
            "FlowUI: %s %s@%s in %s mode, run folder %s",
            spec.task_id,
            spec.operator.name,
            spec.operator.version,
            spec.execution_mode,
            folder,
        )

        code_dir = contracts.operator_code_dir(storage_root, spec.operator)
        if spec.execution_mode == "local":
            exit_code = self.run_local(spec, code_dir=code_dir, folder=folder, storage_root=storage_root)
        elif spec.execution_mode == "batch":
            from flowui_runtime.batch import BatchRunner, job_name

            self._mode_runner = runner = BatchRunner(
                spec=spec, storage_root=storage_root, log=self.log, tenant=self.tenant
            )
            if os.environ.get("FLOWUI_BATCH_DEFERRABLE", "false").lower() == "true":
                from flowui_runtime.batch_trigger import BatchJobTrigger

                job_id = runner.submit(
                    code_dir=code_dir, folder=folder, name=job_name(self.dag_id, context["run_id"], spec.task_id)
                )
                self.defer(  # the worker slot is free until the triggerer sees the job finish
                    trigger=BatchJobTrigger(job_id=job_id, poll_s=runner.poll_s),
                    method_name="execute_batch_complete",
                    timeout=timedelta(seconds=spec.timeout_s + 60),
                )
            exit_code = runner.run(code_dir=code_dir, folder=folder, dag_id=self.dag_id, run_id=context["run_id"])
        else:
            from flowui_runtime.kubernetes import KubernetesRunner

            self._mode_runner = KubernetesRunner(spec=spec, storage_root=storage_root, log=self.log, tenant=self.tenant)
            exit_code = self._mode_runner.run(
                code_dir=code_dir, folder=folder, dag_id=self.dag_id, run_id=context["run_id"], context=context
            )

        return self._complete(spec, folder=folder, exit_code=exit_code, context=context)

    def _branch_check(self, spec: contracts.TaskSpec, context: Any) -> None:
        """Skip this task (Airflow's `skipped`) when flowui_runtime.branches says so."""
        try:
            reason = branches.skip_reason(
                spec,
                lambda task_id: context["ti"].xcom_pull(task_ids=task_id),
                branch_aware=getattr(self.trigger_rule, "value", self.trigger_rule) == branches.BRANCH_TRIGGER_RULE,
            )
        except branches.ConditionError as exc:
            raise self._failure(AirflowFailException, f"{spec.task_id}: {exc}") from None
        if reason is not None:
            self.log.info("FlowUI: %s skipped: %s", spec.task_id, reason)
            raise AirflowSkipException(f"{spec.task_id}: {reason}")

    def execute_batch_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Where a deferred Batch task resumes once BatchJobTrigger saw its job reach a terminal state."""
        from flowui_runtime.batch import BatchRunner

        spec = contracts.TaskSpec.model_validate(self.task_spec)
        folder = contracts.run_dir(Path(self.storage_root), self.dag_id, context["run_id"], spec.task_id)
        event = event or {}
        if event.get("status") not in ("SUCCEEDED", "FAILED"):
            raise self._failure(
                AirflowException,
                f"{spec.task_id}: lost track of AWS Batch job {event.get('job_id')}: {event.get('error', event)}",
            )
        self.log.info("FlowUI: AWS Batch job %s is %s", event["job_id"], event["status"])
        runner = BatchRunner(spec=spec, storage_root=Path(self.storage_root), log=self.log, tenant=self.tenant)
        exit_code = runner.finish(runner.describe(event["job_id"]), folder=folder)
        return self._complete(spec, folder=folder, exit_code=exit_code, context=context)

    def _complete(self, spec: contracts.TaskSpec, *, folder: Path, exit_code: int, context: Any) -> dict[str, Any]:
        """Turn the run folder's result.json into the task's outcome: its output (XCom) or a failure."""
        try:
            result = read_result(folder)
        except AirflowException as exc:  # an unreadable or refused result.json: say why in the task log
            raise self._failure(AirflowException, f"{spec.task_id}: {exc}") from None
        if result is None:
            message = (
                f"{spec.task_id}: the operator process ended (exit code {exit_code}) without writing "
                f"{contracts.RESULT_FILE}; see the log above"
            )
            self.log.error("FlowUI: %s", message)
            raise AirflowException(message)
        if result.status != "success":
            # The entrypoint's own code wins: a pod or a Batch job may not report it faithfully.
            code = result.exit_code if result.exit_code is not None else exit_code
            error_class = AirflowFailException if code in _PERMANENT_EXIT_CODES else AirflowException
            first_line = (result.error or "failed").splitlines()[0]
            self.log.error("FlowUI: %s failed: %s", spec.task_id, first_line)
            raise error_class(f"{spec.task_id}: {result.error or 'failed'}")
        if result.files:  # one execution-API call saved per task that produces no files
            context["ti"].xcom_push(key=FILES_XCOM_KEY, value=result.files)
        size = len(json.dumps(result.output or {}))
        if size > _XCOM_WARN_BYTES:
            self.log.warning(
                "FlowUI: %s returns %d bytes through XCom; large data belongs in files (Path output fields)",
                spec.task_id, size,
            )  # fmt: skip
        return result.output or {}

    def _failure(self, error_class: type[Exception], message: str) -> Exception:
        """Log the reason as a line of the task log (Airflow 3 keeps the exception text apart) and return
        the exception to raise."""
        self.log.error("FlowUI: %s", message)
        return error_class(message)

    @staticmethod
    def _sandboxed(spec: contracts.TaskSpec) -> bool:
        return spec.execution_mode == "local" and sandbox.enabled()

    def on_kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            kill_process_group(self._process)
        if self._mode_runner is not None:
            self._mode_runner.on_kill()

    # --- inputs -------------------------------------------------------------------------------
    def resolve_inputs(self, spec: contracts.TaskSpec, context: Any, storage_root: Path) -> dict[str, Any]:
        values: dict[str, Any] = {}
        params = context.get("params") or {}
        for name, binding in spec.inputs.items():
            if isinstance(binding, contracts.UpstreamInput):
                values[name] = self._upstream_value(binding, context, storage_root, input_name=name)
            elif isinstance(binding, contracts.ParamInput):
                if binding.param not in params:
                    raise self._failure(
                        AirflowFailException,
                        f"{spec.task_id}: input {name!r} is bound to run parameter {binding.param!r}, "
                        "which this run does not define",
                    )
                values[name] = params[binding.param]
            else:
                values[name] = binding.value
        return values

    def _upstream_value(
        self, binding: contracts.UpstreamInput, context: Any, storage_root: Path, *, input_name: str
    ) -> Any:
        ti = context["ti"]
        output = ti.xcom_pull(task_ids=binding.from_node)
        if not isinstance(output, dict):
            raise self._failure(
                AirflowFailException,
                f"{self.task_id}: input {input_name!r} needs the output of {binding.from_node!r}, "
                "which has none (did it run?)",
            )
        if binding.field not in output:
            raise self._failure(
                AirflowFailException,
                f"{self.task_id}: input {input_name!r} needs field {binding.field!r} of {binding.from_node!r}, "
                f"whose output has only: {', '.join(sorted(output)) or 'nothing'}",
            )
        value = output[binding.field]
        if isinstance(value, str) and binding.field in (
            ti.xcom_pull(task_ids=binding.from_node, key=FILES_XCOM_KEY) or []
        ):
            return str(storage_root / value)  # relative to the storage root: absolute in this mount
        return value

    # --- local mode ---------------------------------------------------------------------------
    def run_local(self, spec: contracts.TaskSpec, *, code_dir: Path, folder: Path, storage_root: Path) -> int:
        if not (code_dir / "operator.py").is_file():
            raise self._failure(
                AirflowException,
                f"{spec.task_id}: the code of {spec.operator.name}@{spec.operator.version} is not in {code_dir} "
                "(was the repository synced to this tenant's storage?)",
            )
        python = local_python(spec)
        secrets = self._declared_secrets(spec)
        if sandbox.enabled():
            start, description = self._sandboxed_start(
                spec, python=python, code_dir=code_dir, folder=folder, storage_root=storage_root, secrets=secrets
            )
        else:
            self.log.warning("FlowUI: %s", sandbox.OFF_WARNING)
            env = local_env(spec, folder=folder, storage_root=storage_root, secrets=secrets)
            env["FLOWUI_UNSANDBOXED"] = "1"  # operators that run untrusted code (python_snippet) refuse
            paths = {"operator_dir": code_dir, "input_file": folder / contracts.INPUT_FILE, "run_dir": folder}
            if python == sys.executable and os.environ.get("FLOWUI_LOCAL_FORK", "false").lower() == "true":
                description = f"entrypoint forked from the Airflow task process for {code_dir}"
                start = functools.partial(fork_entrypoint, env=env, **paths)
            else:
                command = contracts.entrypoint_command(python=str(python), operator_dir=code_dir, run_dir=folder)
                description = " ".join(command)
                start = functools.partial(popen_entrypoint, command, env=env, cwd=folder)
        self.log.info("FlowUI: running %s", description)
        return run_streaming(
            start,
            description=description,
            timeout_s=spec.timeout_s,
            log=self.log,
            log_file=folder / contracts.LOG_FILE,
            on_start=self._started,
            secrets=secrets,
        )

    def _declared_secrets(self, spec: contracts.TaskSpec) -> dict[str, str]:
        """The values of the secrets the operator declares, from its tenant's secrets file only; registered
        with Airflow's masker. A missing one is a warning: the entrypoint then reports it clearly."""
        try:
            secrets = tenant_secret_values(self.tenant, spec.secrets)
        except SecretsError as exc:
            raise self._failure(AirflowFailException, f"{spec.task_id}: {exc}") from None
        airflow_mask(secrets)
        for name in spec.secrets:
            if name not in secrets:
                self.log.warning(
                    "FlowUI: secret %s (declared by %s) is not set for tenant %s (Settings > Secrets)",
                    name, spec.operator.name, self.tenant,
                )  # fmt: skip
        return secrets

    def _started(self, process: subprocess.Popen) -> None:
        self._process = process

    def _sandboxed_start(
        self,
        spec: contracts.TaskSpec,
        *,
        python: str,
        code_dir: Path,
        folder: Path,
        storage_root: Path,
        secrets: dict[str, str],
    ) -> tuple[Any, str]:
        """The entrypoint in the bubblewrap sandbox: the tenant's storage read-only at INSIDE_STORAGE, the
        task's run folder writable, the operator's venv (or Airflow's, when the group has none yet) read-only,
        network only when the operator declares it. Raises AirflowException when the sandbox is missing."""
        try:
            sandbox.check_available(network=spec.network)
        except sandbox.SandboxUnavailable as exc:
            raise self._failure(AirflowException, f"{spec.task_id}: {exc}") from None
        inside_run = f"{sandbox.INSIDE_STORAGE}/{folder.relative_to(storage_root)}"
        inside_code = f"{sandbox.INSIDE_STORAGE}/{code_dir.relative_to(storage_root)}"
        # The declared secrets first: the platform's own variables always win over a secret of the same name.
        env = dict(secrets)
        env.update({name: os.environ[name] for name in _SANDBOX_ENV_PASSTHROUGH if name in os.environ})
        env.update(
            {"FLOWUI_RUN_DIR": inside_run, "FLOWUI_STORAGE_ROOT": sandbox.INSIDE_STORAGE, "PYTHONUNBUFFERED": "1"}
        )
        box, inside_python = sandbox.python_sandbox(
            python=python,
            venv=sandbox.venv_of(python),
            env=env,
            ro=[(str(storage_root), sandbox.INSIDE_STORAGE)],
            rw=[(str(folder), inside_run)],
            cwd=inside_run,
            network=spec.network,
            limits=sandbox.Limits(
                memory_mb=spec.resources.memory_mb,
                processes=spec.resources.processes,
                file_size_mb=spec.resources.file_size_mb,
            ),
        )
        command = contracts.entrypoint_command(python=inside_python, operator_dir=inside_code, run_dir=inside_run)
        description = " ".join(command) + (" (sandbox, network)" if spec.network else " (sandbox)")

        def start() -> tuple[Any, IO[str]]:
            process = box.popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, errors="replace", bufsize=1,
            )  # fmt: skip
            assert process.stdout is not None
            return process, process.stdout

        return start, description


def local_python(spec: contracts.TaskSpec) -> str:
    venvs_dir = os.environ.get("FLOWUI_VENVS_DIR", "")
    if venvs_dir and spec.dependency_hash:
        python = contracts.venv_python(venvs_dir, spec.dependency_hash)
        if (python.parent.parent / contracts.VENV_READY_MARKER).exists():  # never a half-built venv
            return str(python)
    return sys.executable


def local_env(spec: contracts.TaskSpec, *, folder: Path, storage_root: Path, secrets: dict[str, str]) -> dict[str, str]:
    """The environment of an unsandboxed local task (FLOWUI_SANDBOX=off)."""
    env = dict(secrets)  # first: the platform's own variables below always win over a secret of the same name
    env.update({name: os.environ[name] for name in _ENV_PASSTHROUGH if name in os.environ})
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env.update(
        {
            "FLOWUI_RUN_DIR": str(folder),
            "FLOWUI_STORAGE_ROOT": str(storage_root),
            "PYTHONPATH": runtime_pythonpath(),  # the runtime only: never the checkout or Airflow's packages
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def read_result(folder: Path) -> contracts.TaskResult | None:
    path = folder / contracts.RESULT_FILE
    try:
        data = safefs.read_regular(path, max_bytes=_RESULT_MAX_BYTES)
    except safefs.UnsafeFile as exc:
        raise AirflowException(f"the operator's result is refused: {exc}") from None
    if data is None:
        return None
    try:
        return contracts.TaskResult.model_validate_json(data)
    except ValueError as exc:
        raise AirflowException(f"{contracts.RESULT_FILE} is not a valid result: {exc}") from None
