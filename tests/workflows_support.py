"""Helpers for the workflows and API tests: registry rows, specs, operator repositories."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

ECHO_MODEL = """
from pydantic import BaseModel, Field


class InputModel(BaseModel):
    text: str = Field(description="Any text.")
    times: int = Field(default=1, ge=1, le=10)


class OutputModel(BaseModel):
    text: str
    length: int
"""

ECHO_OPERATOR = """
import json
from pathlib import Path

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    text = input_model.text * input_model.times
    print("echo got", json.dumps(input_model.text))
    Path("echo.json").write_text(json.dumps({"text": text}), encoding="utf-8")
    Path("page.html").write_text("<script>alert(1)</script><p>hi</p>", encoding="utf-8")
    return OutputModel(text=text, length=len(text))
"""

ECHO_METADATA = {"name": "echo", "version": "1.0.0", "description": "Echoes text.", "dependency_group": "default"}

ECHO_INPUT_SCHEMA = {
    "properties": {
        "text": {"description": "Any text.", "title": "Text", "type": "string"},
        "times": {"default": 1, "maximum": 10, "minimum": 1, "title": "Times", "type": "integer"},
    },
    "required": ["text"],
    "title": "InputModel",
    "type": "object",
}
ECHO_OUTPUT_SCHEMA = {
    "properties": {"text": {"title": "Text", "type": "string"}, "length": {"title": "Length", "type": "integer"}},
    "required": ["text", "length"],
    "title": "OutputModel",
    "type": "object",
}


def echo_repo_files() -> dict[str, str]:
    return {
        "operators/echo/model.py": textwrap.dedent(ECHO_MODEL),
        "operators/echo/operator.py": textwrap.dedent(ECHO_OPERATOR),
        "operators/echo/metadata.json": json.dumps(ECHO_METADATA),
    }


def operator_version_make(
    *,
    repository_slug: str = "wf-test",
    name: str = "echo",
    version: str = "1.0.0",
    input_schema: dict | None = None,
    output_schema: dict | None = None,
    metadata: dict | None = None,
    tenant=None,
):
    """A stored OperatorVersion row (no code behind it): enough for validation and the DAG writer."""
    from registry.models import OperatorVersion, Repository

    repository, _ = Repository.objects.get_or_create(
        slug=repository_slug, defaults={"name": repository_slug, "url": "file:///nonexistent", "tenant": tenant}
    )
    return OperatorVersion.objects.create(
        repository=repository,
        name=name,
        version=version,
        commit="0" * 40,
        tree_hash="1" * 40,
        input_schema=ECHO_INPUT_SCHEMA if input_schema is None else input_schema,
        output_schema=ECHO_OUTPUT_SCHEMA if output_schema is None else output_schema,
        metadata=metadata or {"execution_modes": ["local"], "resources": {"cpu": 1, "memory_mb": 256, "gpu": 0}},
    )


def node(
    node_id: str,
    inputs: dict[str, Any],
    *,
    name: str = "echo",
    repository: str = "wf-test",
    version: str = "1.0.0",
    label: str = "",
) -> dict[str, Any]:
    return {
        "id": node_id,
        "label": label or node_id,
        "operator": {"repository": repository, "name": name, "version": version},
        "position": {"x": 0, "y": 0},
        "inputs": inputs,
    }


def chain_spec(text: str = "hello", **extra) -> dict[str, Any]:
    """a -> b -> c: a echoes a literal, b the param `greeting`, c b's text."""
    spec = {
        "nodes": [
            node("a", {"text": {"value": text}}),
            node("b", {"text": {"param": "greeting"}}),
            node("c", {"text": {"from": "b", "field": "text"}, "times": {"value": 2}}),
        ],
        "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
        "schedule": None,
        "tags": ["test"],
        "params": [{"name": "greeting", "type": "string", "default": "hi", "description": ""}],
    }
    spec.update(extra)
    return spec


def wait_for(predicate, timeout_s: float = 60, interval_s: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")


# --- a run folder planted by hostile tenant code (results must never follow a symlink) -------------------
HOSTILE_SECRET = "globex-only secret"


def hostile_run_folder(storage: Path, other_storage: Path, dag_id: str, run_id: str = "manual__1") -> dict[str, Any]:
    """Task `a` of run `run_id` with good files (result.json, real/data.csv, page.html) and every trick a task
    could plant: symlinks to `/`, to /etc/passwd, to another tenant's file, a symlinked intermediate folder (even
    one pointing inside the task folder), a symlinked result.json in task `b`, a task folder `c` that is a
    symlink to the other tenant's task folder, and a run folder `manual__evil` that is a symlink to `/`.
    Returns {"good": {path: bytes}, "evil": [paths relative to task a, each must be a 404]}."""
    run = Path(storage) / "runs" / dag_id / run_id
    task = run / "a"
    (task / "real").mkdir(parents=True, exist_ok=True)
    good = {
        "result.json": json.dumps({"status": "success", "output": {"n": 1}, "files": []}).encode(),
        "real/data.csv": b"a,b\n1,2\n",
        "page.html": b"<p>ok</p>",
    }
    for relative, content in good.items():
        (task / relative).write_bytes(content)
    other_task = Path(other_storage) / "runs" / "globex__x" / "manual__1" / "a"
    other_task.mkdir(parents=True, exist_ok=True)
    (other_task / "secret.txt").write_text(HOSTILE_SECRET)
    (other_task / "result.json").write_text(json.dumps({"status": "success", "output": {"secret": HOSTILE_SECRET}}))
    links = {
        "root": "/",
        "passwd.txt": "/etc/passwd",
        "other.txt": str(other_task / "secret.txt"),
        "other_dir": str(other_task),
        "real_link": str(task / "real"),  # inside the task folder, but a symlinked intermediate folder
        "rel_link": "../../../../../..",
    }
    for name, target in links.items():
        (task / name).symlink_to(target)
    (task / "real" / "up.txt").symlink_to("../result.json")  # a relative link back inside: still a symlink
    (run / "b").mkdir(parents=True, exist_ok=True)
    (run / "b" / "result.json").symlink_to(other_task / "result.json")
    (run / "c").symlink_to(other_task)
    (run.parent / "manual__evil").symlink_to("/")
    evil = [
        "root",
        "root/etc/passwd",
        "passwd.txt",
        "other.txt",
        "other_dir/secret.txt",
        "real_link/data.csv",
        "rel_link/etc/passwd",
        "real/up.txt",
        "real/../result.json",
        "../a/result.json",
        "../../manual__1/a/result.json",
        "./result.json",
        "real//data.csv",
        "/etc/passwd",
    ]
    return {"good": good, "evil": evil, "task": task, "other_task": other_task}
