"""Data contracts shared by the platform (Django) and the runtime (Airflow, containers).

One definition, two users: the platform builds these objects when it validates a workflow
and writes a DAG file; the runtime reads them back inside Airflow and inside operator
processes. Nothing here may import Django, Celery or Airflow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

# The design's per-tenant folder layout (relative to the tenant's storage root). DAG files are not in it: the
# folder Airflow parses is the platform's FLOWUI_DAGS_DIR/<schema>/, out of reach of every operator.
STORAGE_FOLDERS = (
    "airflow/logs",
    "airflow/plugins",
    "code_repository",
    "dataset",
    "runs",
)

ExecutionMode = Literal["local", "batch", "kubernetes"]
EXECUTION_MODES: tuple[str, ...] = ("local", "batch", "kubernetes")

# Files the runtime writes into every task's run folder.
RESULT_FILE = "result.json"
LOG_FILE = "log.txt"
INPUT_FILE = "input.json"

_SAFE_PART = re.compile(r"[^A-Za-z0-9_.=+-]")

# Secret names: the one rule for an operator's metadata.json `secrets` and a tenant's secrets (portal, API).
# A name becomes an environment variable of the operator's process (local mode, Batch, Kubernetes), so names
# the runtime or the interpreter use themselves are refused (case-insensitively).
SECRET_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
RESERVED_SECRET_NAMES = frozenset({"PATH", "HOME", "LANG", "TZ", "PWD", "SHELL", "USER", "TMPDIR"})
RESERVED_SECRET_PREFIXES = ("FLOWUI_", "AIRFLOW", "PYTHON", "LD_", "LC_")
SECRET_NAME_RULE = (
    "Use letters, digits and '_', starting with a letter, at most 100 (e.g. OPENAI_API_KEY); names are "
    "case-sensitive; PATH, HOME, LANG, TZ, PWD, SHELL, USER, TMPDIR and names starting with FLOWUI_, AIRFLOW, "
    "PYTHON, LD_ or LC_ are reserved."
)


def secret_name_valid(name: str) -> bool:
    """True when `name` follows SECRET_NAME_RULE."""
    if not isinstance(name, str) or not SECRET_NAME_RE.match(name):
        return False
    upper = name.upper()
    return upper not in RESERVED_SECRET_NAMES and not upper.startswith(RESERVED_SECRET_PREFIXES)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OperatorRef(_Strict):
    """Pins one stored operator version: where its code is and which commit."""

    repository: str = Field(description="Repository slug in the registry, e.g. 'flowui-bundled'.")
    name: str = Field(description="Operator name (the folder under operators/).")
    version: str = Field(description="Operator version from its metadata.json.")
    commit: str = Field(description="Git commit the operator version was synced from.")


class Resources(_Strict):
    cpu: float = Field(default=1.0, gt=0, description="vCPUs.")
    memory_mb: int = Field(default=1024, gt=0, description="Memory in MiB.")
    gpu: int = Field(default=0, ge=0, description="Number of GPUs.")
    processes: int = Field(default=256, gt=0, description="Most processes/threads at once (local sandbox).")
    file_size_mb: int = Field(default=1024, gt=0, description="Largest file it may write, MiB (local sandbox).")


class LiteralInput(_Strict):
    """A value typed by the workflow author, embedded in the DAG as data."""

    value: Any


class UpstreamInput(_Strict):
    """The value of `field` in the output of upstream node `from_node`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_node: str = Field(alias="from")
    field: str


class ParamInput(_Strict):
    """The value of the run parameter `param` (its default unless the run overrides it)."""

    param: str


InputBinding = Union[UpstreamInput, ParamInput, LiteralInput]

ConditionOp = Literal["==", "!=", ">", ">=", "<", "<=", "in", "truthy"]
CONDITION_OPS: tuple[str, ...] = ("==", "!=", ">", ">=", "<", "<=", "in", "truthy")


class Condition(_Strict):
    """A branch condition on an edge: `field` of the upstream node's output compared with `value` (a list for
    `in`; none for `truthy`). Evaluated by flowui_runtime.branches."""

    field: str = Field(min_length=1, max_length=200, description="A field of the upstream node's output.")
    op: ConditionOp = Field(description="==, !=, >, >=, <, <=, in (value is a list) or truthy (no value).")
    value: Any = None


class BranchCondition(_Strict):
    """An incoming conditional edge of a task: it runs only if one of these holds on its source's output."""

    source: str
    when: Condition


class TaskSpec(_Strict):
    """Everything the runtime needs to run one node of a workflow."""

    task_id: str
    label: str = ""
    operator: OperatorRef
    inputs: dict[str, InputBinding] = Field(default_factory=dict)
    execution_mode: ExecutionMode = "local"
    retries: int = Field(default=0, ge=0, le=10)
    timeout_s: int = Field(default=3600, gt=0)
    resources: Resources = Field(default_factory=Resources)
    dependency_group: str = "default"
    image: str = ""
    secrets: list[str] = Field(default_factory=list, description="Secret names the operator declares.")
    network: bool = Field(default=False, description="The operator declares that it needs outbound network.")
    upstream: list[str] = Field(default_factory=list, description="task_ids this task depends on.")
    conditions: list[BranchCondition] = Field(
        default_factory=list,
        description="Incoming conditional edges: the task is skipped unless one holds (see flowui_runtime.branches).",
    )
    dependency_hash: str = Field(
        default="",
        description="flowui_runtime.checks.requirements_hash() of the dependency group: local mode runs FLOWUI_VENVS_DIR/<hash>/bin/python "
        "when it exists (else Airflow's interpreter).",
    )


class ParamSpec(_Strict):
    name: str
    type: Literal["string", "integer", "number", "boolean"] = "string"
    default: Any = None
    description: str = ""


class DagSpec(_Strict):
    """What a generated DAG file embeds (as a literal) and hands to the runtime's DAG builder."""

    dag_id: str
    tenant: str
    workflow_version: int
    description: str = ""
    schedule: str | None = None
    start_date: str = "2024-01-01T00:00:00+00:00"
    tags: list[str] = Field(default_factory=list)
    params: list[ParamSpec] = Field(default_factory=list)
    storage_root: str = Field(description="The tenant's storage root as Airflow sees it.")
    tasks: list[TaskSpec]


class TaskResult(_Strict):
    """Written as result.json by the container entrypoint."""

    status: Literal["success", "failed"]
    output: dict[str, Any] | None = None
    error: str | None = None
    duration_s: float = 0.0
    files: list[str] = Field(
        default_factory=list,
        description="Output fields holding produced files; their values are paths relative to the storage root.",
    )
    exit_code: int | None = Field(
        default=None,
        description="The entrypoint's exit code: 0 ok, 1 operator failed, 2 invalid input, 3 operator not loadable.",
    )


def entrypoint_command(*, python: str, operator_dir: str | Path, run_dir: str | Path) -> list[str]:
    """The one command every execution mode runs (local subprocess, Batch job, Kubernetes pod, authoring CLI);
    its input is `run_dir/input.json`. The flags are defined by flowui_runtime.entrypoint.parser_add_run."""
    return [
        python, "-m", "flowui_runtime", "run",
        "--operator-dir", str(operator_dir),
        "--input-file", str(Path(run_dir) / INPUT_FILE),
        "--run-dir", str(run_dir),
    ]  # fmt: skip


def safe_path_part(value: str) -> str:
    """Airflow run ids contain ':' and '+'; keep folder names portable and non-traversable."""
    cleaned = _SAFE_PART.sub("_", value)
    return cleaned.strip(".") or "_"


def run_dir(storage_root: str | Path, dag_id: str, run_id: str, task_id: str) -> Path:
    """The design's `/runs/{dag-id}/{run-id}/{task-id}/` under a tenant's storage root."""
    return Path(storage_root) / "runs" / safe_path_part(dag_id) / safe_path_part(run_id) / safe_path_part(task_id)


def batch_job_names(*, project: str, tenant: str, operator_name: str, operator_version: str) -> tuple[str, str]:
    """(job definition name, job queue name) of one tenant's operator version in AWS Batch. The registry
    registers them (at deploy, idempotently); the runtime submits by name (Batch takes a definition's name for
    its latest active revision), so no setting per definition is needed and one shared Airflow serves every
    tenant with its own role, access point and secrets. Characters Batch does not allow become '-' in the
    prefix and '_' in the operator part (load_csv 1.2.0 -> <project>-<tenant>-load_csv_1_2_0)."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", f"{project}-{tenant}")
    operator = re.sub(r"[^A-Za-z0-9_]", "_", f"{operator_name}_{operator_version}")
    return f"{prefix}-{operator}"[:128], f"{prefix}-operators"[:128]


# Written into a dependency group's virtualenv by the registry once it is completely built.
VENV_READY_MARKER = ".flowui-ready"


def venv_python(venvs_dir: str | Path, dependency_hash: str) -> Path:
    """The interpreter of a dependency group's virtualenv (may not exist yet, see VENV_READY_MARKER)."""
    return Path(venvs_dir) / safe_path_part(dependency_hash) / "bin" / "python"


def operator_code_dir(storage_root: str | Path, ref: OperatorRef) -> Path:
    """Where a synced operator's code is materialised for execution in a tenant's storage."""
    return (
        Path(storage_root)
        / "code_repository"
        / safe_path_part(ref.repository)
        / safe_path_part(ref.commit)
        / "operators"
        / safe_path_part(ref.name)
    )
