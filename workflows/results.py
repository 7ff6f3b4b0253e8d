"""Task results: the files in a run's folder (`runs/<dag_id>/<run_id>/<task_id>/` under the tenant's storage
root, see flowui_runtime.contracts.run_dir), listed with size and type and served with safe headers.

The folder is derived from the tenant and the workflow; a requested file path is resolved (symlinks
included) and must stay inside the task's folder, so no path outside it can be reached.
"""

from __future__ import annotations

import json
import mimetypes
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from flowui_runtime.contracts import RESULT_FILE, run_dir, safe_path_part
from tenants.selectors import tenant_storage_root
from workflows.models import Workflow
from workflows.selectors import workflow_dag_id
from workflows.supervision import RUN_ID_RE, TASK_ID_RE

MAX_LISTED_FILES = 2000
# Types shown inline in the browser; everything else is a download.
INLINE_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Active content (HTML, SVG) runs in a sandbox: no scripts, no same-origin access, no outside requests.
SANDBOXED = {".html", ".htm", ".svg"}
SANDBOX_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


class ResultNotFound(Exception):
    pass


def _run_folder(*, tenant, workflow: Workflow, run_id: str) -> Path:
    if not RUN_ID_RE.match(run_id or ""):
        raise ResultNotFound(f"No run {run_id!r} for this workflow.")
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    # run_dir(...) with a placeholder task gives the run folder as its parent.
    return run_dir(tenant_storage_root(tenant=tenant), dag_id, run_id, "_").parent


def content_type_for(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in INLINE_TYPES:
        return INLINE_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def run_results_list(*, tenant, workflow: Workflow, run_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
    """Files of a run (or of one task of it): task_id, path (relative to the task folder), size, type."""
    folder = _run_folder(tenant=tenant, workflow=workflow, run_id=run_id)
    if not folder.is_dir():
        return []
    root = folder.resolve()
    if task_id is not None:
        if not TASK_ID_RE.match(task_id):
            raise ResultNotFound(f"No task {task_id!r} in this run.")
        task_folders = [folder / safe_path_part(task_id)]
    else:
        task_folders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
    files: list[dict[str, Any]] = []
    for task_folder in task_folders:
        if not task_folder.is_dir():
            continue
        base = task_folder.resolve()
        if not base.is_relative_to(root):
            continue
        for path in sorted(task_folder.rglob("*")):
            if len(files) >= MAX_LISTED_FILES:
                return files
            try:
                resolved = path.resolve()
                if not path.is_file() or not resolved.is_relative_to(base):
                    continue
                stat = resolved.stat()
            except OSError:
                continue
            relative = path.relative_to(task_folder).as_posix()
            files.append(
                {
                    "task_id": task_folder.name,
                    "path": relative,
                    "size": stat.st_size,
                    "content_type": content_type_for(relative),
                    "modified": datetime.fromtimestamp(stat.st_mtime, tz=UTC).isoformat(),
                }
            )
    return files


def result_file_resolve(*, tenant, workflow: Workflow, run_id: str, task_id: str, path: str) -> Path:
    """The file `path` of a task's run folder, or ResultNotFound when it is missing or lies outside it."""
    if not TASK_ID_RE.match(task_id or ""):
        raise ResultNotFound(f"No task {task_id!r} in this run.")
    folder = _run_folder(tenant=tenant, workflow=workflow, run_id=run_id) / safe_path_part(task_id)
    if not path or "\x00" in path or PurePosixPath(path).is_absolute() or "\\" in path:
        raise ResultNotFound(f"No result file {path!r}.")
    base = folder.resolve()
    target = (folder / path).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise ResultNotFound(f"No result file {path!r}.")
    return target


def result_headers(name: str) -> dict[str, str]:
    """Response headers serving a result file safely."""
    content_type = content_type_for(name)
    suffix = PurePosixPath(name).suffix.lower()
    safe_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in PurePosixPath(name).name)
    headers = {"Content-Type": content_type, "X-Content-Type-Options": "nosniff"}
    if suffix in SANDBOXED:
        headers["Content-Security-Policy"] = SANDBOX_CSP
        headers["Content-Disposition"] = f'inline; filename="{safe_name}"'
    elif suffix in INLINE_TYPES:
        headers["Content-Disposition"] = f'inline; filename="{safe_name}"'
    else:
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return headers


def task_result(*, tenant, workflow: Workflow, run_id: str, task_id: str) -> dict[str, Any] | None:
    """The task's result.json (a contracts.TaskResult as a dict), or None before the task wrote one.
    An unreadable file is reported as a failed result rather than raised."""
    if not TASK_ID_RE.match(task_id or ""):
        raise ResultNotFound(f"No task {task_id!r} in this run.")
    path = _run_folder(tenant=tenant, workflow=workflow, run_id=run_id) / safe_path_part(task_id) / RESULT_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"status": "failed", "error": f"{RESULT_FILE} cannot be read: {exc}", "output": None, "files": []}
    return data if isinstance(data, dict) else {"status": "failed", "error": f"{RESULT_FILE} is not an object",
                                                "output": None, "files": []}
