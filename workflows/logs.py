"""Task logs as a tenant may see them: the platform's host paths replaced by the operator's view of them,
and Airflow's `::group::` / `::endgroup::` markers turned into collapsible sections.

One rule for the portal and the API: `workflows.supervision.task_log` hands every page of lines through
`host_paths_hide` before it leaves the platform.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from flowui.lib.airflow import AirflowError
from tenants.selectors import tenant_airflow, tenant_storage_root
from workflows.models import Workflow
from workflows.selectors import workflow_dag_id
from workflows.supervision import LOG_PAGE_MAX, _check_run_id, _check_task_id, _enum, _iso, _not_found

# Where the operator sees a folder (flowui_runtime.sandbox binds), or a neutral placeholder.
STORAGE_VIEW = "/flowui/storage"
VENV_VIEW = "/flowui/venv"
PLACEHOLDER = "<platform>"

GROUP_RE = re.compile(r"::group::(.*)$")
ENDGROUP_RE = re.compile(r"::endgroup::\s*$")
_END = r"(?=[/\s'\":,;)\]}>]|$)"


def _variants(path: Path | str) -> list[str]:
    """The path as configured and as resolved (a symlinked checkout or venv shows up either way)."""
    text = str(path).rstrip("/")
    found = [text]
    try:
        real = os.path.realpath(text)
    except (OSError, ValueError):
        real = text
    if real != text:
        found.append(real)
    return [p for p in found if len(p) > 1]


def host_path_replacements(*, tenant) -> list[tuple[re.Pattern[str], str]]:
    """(pattern, replacement) pairs, most specific first: the tenant's storage root becomes /flowui/storage,
    a dependency venv /flowui/venv, and every other platform folder (volume, DAGs, secrets, venvs, Airflow's
    home and venv inside the checkout, the checkout itself, FLOWUI_LOG_HIDDEN_PATHS) a placeholder."""
    pairs: list[tuple[str, str, bool]] = []  # (path, replacement, swallow one more path segment)
    for path in _variants(tenant_storage_root(tenant=tenant)):
        pairs.append((path, STORAGE_VIEW, False))
    for path in _variants(settings.FLOWUI_VENVS_DIR):
        pairs.append((path, VENV_VIEW, True))
    platform_dirs = [
        settings.VOLUME_MOUNT_PATH_HOST,
        settings.FLOWUI_DAGS_DIR,
        settings.FLOWUI_SECRETS_DIR,
        settings.FLOWUI_GIT_CACHE_DIR,
        Path(settings.BASE_DIR) / ".airflow-venv",
        Path(settings.BASE_DIR) / ".venv",
        *settings.FLOWUI_LOG_HIDDEN_PATHS,
        settings.BASE_DIR,
    ]
    for folder in platform_dirs:
        if str(folder).strip():
            for path in _variants(folder):
                pairs.append((path, PLACEHOLDER, False))
    pairs.sort(key=lambda p: len(p[0]), reverse=True)
    patterns = []
    for path, replacement, swallow in pairs:
        tail = r"/[^/\s'\":,;)\]}>]+" if swallow else ""
        patterns.append((re.compile(re.escape(path) + tail + _END), replacement))
    return patterns


def host_paths_hide(lines: list[str], replacements: list[tuple[re.Pattern[str], str]]) -> list[str]:
    """The lines with every platform host path replaced (the one function that does it)."""
    out = []
    for line in lines:
        if "/" in line:
            for pattern, replacement in replacements:
                line = pattern.sub(replacement, line)
        out.append(line)
    return out


@dataclass
class LogSection:
    """Lines outside any group (title None) or one `::group::` section."""

    title: str | None
    lines: list[str] = field(default_factory=list)
    continued: bool = False  # the group began in an earlier page
    open_end: bool = False  # no ::endgroup:: yet in this page


def log_sections(lines: list[str], *, open_group: str | None = None) -> list[LogSection]:
    """Lines split into plain runs and groups. `open_group` is the title of a group that an earlier page left
    open, so a followed log keeps its lines in a section. Markers themselves are not shown; nested groups are
    flattened (a new group closes the one before)."""
    sections: list[LogSection] = []
    current = LogSection(title=open_group, continued=True, open_end=True) if open_group else LogSection(None)
    for line in lines:
        start = GROUP_RE.search(line)
        if start:
            if current.lines or current.title:
                current.open_end = False if current.title else current.open_end
                sections.append(current)
            current = LogSection(title=start.group(1).strip() or "(group)", open_end=True)
            continue
        if ENDGROUP_RE.search(line):
            if current.title is not None:
                current.open_end = False
                sections.append(current)
            current = LogSection(None)
            continue
        current.lines.append(line)
    if current.lines or current.title:
        sections.append(current)
    return sections


def open_group_after(sections: list[LogSection]) -> str:
    """The title of the group still open at the end of a page ('' when none)."""
    if sections and sections[-1].title is not None and sections[-1].open_end:
        return sections[-1].title
    return ""


# --- reading a task's log from Airflow ------------------------------------------------------------
def _log_lines(response) -> list[str]:
    content = response.content.actual_instance if response.content is not None else None
    lines: list[str] = []
    for message in content or []:
        if isinstance(message, str):
            lines.extend(message.splitlines() or [""])
            continue
        extra = message.additional_properties or {}
        level = extra.get("level")
        prefix = " ".join(p for p in (_iso(message.timestamp), f"[{level}]" if level else None) if p)
        text = message.event if not prefix else f"{prefix} {message.event}"
        lines.extend(text.splitlines() or [""])
    return lines


def task_log(
    *,
    tenant,
    workflow: Workflow,
    run_id: str,
    task_id: str,
    try_number: int | None = None,
    offset: int = 0,
    limit: int = 1000,
    tail: int = 0,
) -> dict[str, Any]:
    """One page of a task's log, as lines from `offset` (or the last `tail` lines), with the platform's host
    paths hidden. While the task runs, call again with `next_offset` to tail it; `complete` is true once the
    task instance has finished and the page reached the end."""
    dag_id = workflow_dag_id(tenant=tenant, workflow=workflow)
    _check_run_id(run_id)
    _check_task_id(task_id)
    client = tenant_airflow(tenant=tenant)
    try:
        ti = client.call(lambda api: api.task_instance.get_task_instance(dag_id, run_id, task_id))
    except AirflowError as exc:
        raise _not_found(exc, f"No task {task_id!r} in run {run_id!r}.") from None
    state = _enum(ti.state) if ti.state is not None else None
    attempt = ti.try_number if try_number is None else int(try_number)
    limit = max(1, min(int(limit), LOG_PAGE_MAX))
    lines: list[str] = []
    if 1 <= attempt <= max(ti.try_number, 1):
        try:
            response = client.call(
                lambda api: api.task_instance.get_log(dag_id, run_id, task_id, attempt, full_content=True)
            )
            lines = _log_lines(response)
        except AirflowError as exc:
            if exc.status != 404:
                raise
    offset = max(0, len(lines) - min(int(tail), LOG_PAGE_MAX)) if tail else max(0, int(offset))
    page = host_paths_hide(lines[offset : offset + limit], host_path_replacements(tenant=tenant))
    next_offset = offset + len(page)
    finished = state in ("success", "failed", "skipped", "upstream_failed", "removed")
    return {
        "task_id": task_id,
        "try_number": attempt,
        "state": state,
        "offset": offset,
        "next_offset": next_offset,
        "total_lines": len(lines),
        "lines": page,
        "complete": finished and next_offset >= len(lines) and attempt == ti.try_number,
    }
