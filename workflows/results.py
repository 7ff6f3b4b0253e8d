"""Task results: the files in a run's folder (`runs/<dag_id>/<run_id>/<task_id>/` under the tenant's storage
root, see flowui_runtime.contracts.run_dir), listed with size and type and served with safe headers. The one
resolver for the REST API and the portal.

The folder is derived from the tenant and the workflow. The storage root's content is written by tenant code
(operators), so nothing below the storage root is trusted: every folder on the way down is opened with
`O_NOFOLLOW | O_DIRECTORY` relative to its parent's descriptor, the file itself with `O_NOFOLLOW`, and only
regular files are served, from the descriptor (`fstat` for size and type). A symlink anywhere on the path (to
`/`, to another tenant's file, an intermediate folder) answers "not found"; `..`, `.`, empty and absolute
segments are refused before anything is opened; listings skip symlinks instead of following them.
"""

from __future__ import annotations

import json
import mimetypes
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import IO, Any

from flowui.inputs import has_nul
from flowui_runtime import safefs
from flowui_runtime.contracts import RESULT_FILE, safe_path_part
from tenants.selectors import tenant_storage_root
from workflows.models import Workflow
from workflows.selectors import workflow_dag_id
from workflows.supervision import RUN_ID_RE, TASK_ID_RE

MAX_LISTED_FILES = 2000
MAX_RESULT_JSON_BYTES = 20_000_000
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


# The descriptor-relative primitives are shared with the datasets resolver (flowui_runtime.safefs).
_DIR_FLAGS = safefs.DIR_FLAGS
_open_regular = safefs.open_regular_at
MAX_DEPTH = 32


def _task_parts(*, tenant, workflow: Workflow, run_id: str, task_id: str | None) -> list[str]:
    """The folder names from the storage root down to the run (or task) folder; never a separator or '..'."""
    if not RUN_ID_RE.match(run_id or ""):
        raise ResultNotFound(f"No run {run_id!r} for this workflow.")
    parts = ["runs", safe_path_part(workflow_dag_id(tenant=tenant, workflow=workflow)), safe_path_part(run_id)]
    if task_id is not None:
        if not TASK_ID_RE.match(task_id or ""):
            raise ResultNotFound(f"No task {task_id!r} in this run.")
        parts.append(safe_path_part(task_id))
    return parts


def _relative_parts(path: str) -> list[str]:
    """A file path relative to a task folder, as its segments; anything that could leave the folder is refused."""
    if not path or has_nul(path) or "\\" in path or path.startswith("/"):
        raise ResultNotFound(f"No result file {path!r}.")
    parts = path.split("/")
    if len(parts) > MAX_DEPTH or any(part in ("", ".", "..") for part in parts):
        raise ResultNotFound(f"No result file {path!r}.")
    return parts


@contextmanager
def _open_dir(parts: list[str], *, tenant) -> Iterator[int]:
    """A descriptor of storage root / parts, opened one component at a time without following any symlink.
    ResultNotFound when a component is missing, is not a folder or is a symlink."""
    try:
        fd = safefs.open_dir_chain(tenant_storage_root(tenant=tenant), parts)
    except OSError:  # ENOENT, ELOOP (a symlink), ENOTDIR
        raise ResultNotFound("No results for this run.") from None
    try:
        yield fd
    finally:
        os.close(fd)


@dataclass
class ResultFile:
    """An open result file: read from `file` (the caller closes it, or hands it to a FileResponse)."""

    file: IO[bytes]
    name: str
    size: int
    modified: float
    content_type: str


def content_type_for(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in INLINE_TYPES:
        return INLINE_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _walk_files(dir_fd: int, prefix: str, out: list[tuple[str, os.stat_result]], depth: int = 0) -> None:
    """Regular files below dir_fd (relative paths, sorted), descending only into real folders: symlinks,
    devices, FIFOs and sockets are left out."""
    with os.scandir(dir_fd) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if len(out) >= MAX_LISTED_FILES:
            return
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            out.append((prefix + entry.name, info))
        elif stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH:
            try:
                child = os.open(entry.name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:  # replaced by a symlink since scandir: skipped
                continue
            try:
                _walk_files(child, f"{prefix}{entry.name}/", out, depth + 1)
            finally:
                os.close(child)


def run_results_list(*, tenant, workflow: Workflow, run_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
    """Files of a run (or of one task of it): task_id, path (relative to the task folder), size, type."""
    parts = _task_parts(tenant=tenant, workflow=workflow, run_id=run_id, task_id=None)
    if task_id is not None and not TASK_ID_RE.match(task_id):
        raise ResultNotFound(f"No task {task_id!r} in this run.")
    files: list[dict[str, Any]] = []
    try:
        with _open_dir(parts, tenant=tenant) as run_fd:
            if task_id is not None:
                task_names = [safe_path_part(task_id)]
            else:
                with os.scandir(run_fd) as it:
                    task_names = sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
            for task_name in task_names:
                try:
                    task_fd = os.open(task_name, _DIR_FLAGS, dir_fd=run_fd)
                except OSError:
                    continue
                found: list[tuple[str, os.stat_result]] = []
                try:
                    _walk_files(task_fd, "", found)
                finally:
                    os.close(task_fd)
                for relative, info in found:
                    if len(files) >= MAX_LISTED_FILES:
                        return files
                    files.append(
                        {
                            "task_id": task_name,
                            "path": relative,
                            "size": info.st_size,
                            "content_type": content_type_for(relative),
                            "modified": datetime.fromtimestamp(info.st_mtime, tz=UTC).isoformat(),
                        }
                    )
    except ResultNotFound:
        return []
    return files


def result_file_open(*, tenant, workflow: Workflow, run_id: str, task_id: str, path: str) -> ResultFile:
    """Open the file `path` (relative to the task's folder) without following any symlink on the way;
    ResultNotFound when it is missing, is not a regular file or any component is a symlink."""
    parts = _task_parts(tenant=tenant, workflow=workflow, run_id=run_id, task_id=task_id)
    relative = _relative_parts(path)
    with _open_dir(parts + relative[:-1], tenant=tenant) as dir_fd:
        try:
            fd, info = _open_regular(relative[-1], dir_fd=dir_fd)
        except OSError:
            raise ResultNotFound(f"No result file {path!r}.") from None
    return ResultFile(
        file=os.fdopen(fd, "rb"),
        name=relative[-1],
        size=info.st_size,
        modified=info.st_mtime,
        content_type=content_type_for(relative[-1]),
    )


def task_file_relative(*, tenant, workflow: Workflow, run_id: str, task_id: str, value: str) -> str:
    """A produced file as recorded in result.json (relative to the storage root, see
    flowui_runtime.entrypoint.storage_relative) made relative to the task's folder. A value pointing
    elsewhere is returned unchanged, so opening it relative to the task folder finds nothing outside it."""
    prefix = "/".join(_task_parts(tenant=tenant, workflow=workflow, run_id=run_id, task_id=task_id)) + "/"
    return value[len(prefix) :] if isinstance(value, str) and value.startswith(prefix) else value


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
    An unreadable file (or one that is not a regular file) is reported as a failed result rather than raised."""
    try:
        handle = result_file_open(tenant=tenant, workflow=workflow, run_id=run_id, task_id=task_id, path=RESULT_FILE)
    except ResultNotFound:
        _task_parts(tenant=tenant, workflow=workflow, run_id=run_id, task_id=task_id)  # bad ids: raise
        return None
    try:
        with handle.file:
            data = json.loads(handle.file.read(MAX_RESULT_JSON_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError) as exc:
        return {"status": "failed", "error": f"{RESULT_FILE} cannot be read: {exc}", "output": None, "files": []}
    if not isinstance(data, dict):
        return {"status": "failed", "error": f"{RESULT_FILE} is not an object", "output": None, "files": []}
    return data
