"""Runs: the list with filters, a run's page (graph coloured by task state, live until the run ends), the log
panel that follows a running task, results (tables, images, sandboxed HTML, downloads), retry/clear/cancel."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from flowui.lib.airflow import AirflowError
from tenants.permissions import require_role
from workflows import supervision
from workflows.charts import durations_chart, gantt, graph_layout
from workflows.logs import log_sections, open_group_after
from workflows.logs import task_log as task_log_page
from workflows.results import ResultNotFound, result_file_open, result_headers, task_file_relative, task_result
from workflows.selectors import notification_deliveries_for_run, run_version_get, workflows_list
from workflows.supervision_many import runs_list_many
from workflows.views_common import workflow_or_404

TERMINAL = ("success", "failed")
TASK_RETRYABLE = ("failed", "upstream_failed")
RUN_STATES = ("queued", "running", "success", "failed")
TABLE_ROWS = 100
IMAGE_EXT = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
CHART_RUNS = 30
LOG_TAIL = 500  # lines shown when the log panel opens; earlier ones load on demand
LOG_EARLIER = 1000  # lines per "load earlier lines"


def runs_index(request):
    slug = request.GET.get("workflow", "")
    state = request.GET.get("state", "")
    state = state if state in RUN_STATES else ""
    workflows = [w for w in workflows_list() if w.deployed_version_id]
    chosen = [w for w in workflows if w.slug == slug] if slug else workflows
    runs, problem = [], ""
    try:  # one Airflow call for every deployed workflow (was one per workflow, the first 20 only)
        runs = runs_list_many(tenant=request.tenant, workflows=chosen, limit=100, state=state or None)["results"]
    except AirflowError as exc:
        problem = f"Airflow did not answer ({exc})."
    context = {
        "runs": runs[:100],
        "workflows": workflows,
        "slug": slug,
        "state": state,
        "problem": problem,
        "states": RUN_STATES,
        "chart": durations_chart(runs[:CHART_RUNS]) if slug and runs else None,
    }
    template = "workflows/partials/run_rows.html" if request.htmx else "workflows/runs.html"
    return render(request, template, context)


def _run_context(request, workflow, run_id: str) -> dict:
    try:
        run = supervision.run_detail(tenant=request.tenant, workflow=workflow, run_id=run_id)
    except supervision.RunNotFound as exc:
        raise Http404(str(exc)) from None
    version, version_known = run_version_get(workflow=workflow, number=run.get("workflow_version"))
    states = {t["task_id"]: t["state"] for t in run["tasks"]}
    live = run["state"] not in TERMINAL
    for task in run["tasks"]:
        task["retryable"] = not live and task["state"] in TASK_RETRYABLE
    return {
        "workflow": workflow,
        "run": run,
        "version": version,
        "version_known": version_known,
        "graph": graph_layout(version.spec if version else {}, states),
        "gantt": gantt(run["tasks"]),
        "live": live,
        "can_retry_failed": run["state"] == "failed" and any(t["retryable"] for t in run["tasks"]),
        "deliveries": notification_deliveries_for_run(workflow=workflow, run_id=run_id),
        "selected": request.GET.get("task", ""),
    }


def run_detail(request, slug: str, run_id: str):
    workflow = workflow_or_404(slug)
    try:
        context = _run_context(request, workflow, run_id)
        if not request.htmx:
            recent = supervision.runs_list(tenant=request.tenant, workflow=workflow, limit=CHART_RUNS)["results"]
            context["chart"] = durations_chart(recent)
    except AirflowError as exc:
        return render(
            request,
            "workflows/run.html",
            {"workflow": workflow, "run": None, "problem": str(exc), "run_id": run_id},
            status=502,
        )
    if context["selected"] not in {t["task_id"] for t in context["run"]["tasks"]}:
        context["selected"] = ""
    template = "workflows/partials/run_live.html" if request.htmx else "workflows/run.html"
    return render(request, template, context)


def _int_arg(request, name: str) -> int | None:
    try:
        value = int(request.GET.get(name, ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def task_log(request, slug: str, run_id: str, task_id: str):
    """The log panel (the last LOG_TAIL lines), `?offset=N` the lines after N while the task runs (a follow
    poll sends only those), `?before=N` the LOG_EARLIER lines before N ("load earlier lines")."""
    workflow = workflow_or_404(slug)
    offset, before = _int_arg(request, "offset"), _int_arg(request, "before")
    if before is not None:
        start = max(0, before - LOG_EARLIER)
        args = {"offset": start, "limit": max(1, before - start)}
    elif offset is not None:
        args = {"offset": offset, "limit": supervision.LOG_PAGE_MAX}
    else:
        args = {"tail": LOG_TAIL, "limit": LOG_TAIL}
    try:
        page = task_log_page(tenant=request.tenant, workflow=workflow, run_id=run_id, task_id=task_id, **args)
    except supervision.RunNotFound as exc:
        raise Http404(str(exc)) from None
    except AirflowError as exc:
        page = {"lines": [f"Airflow did not answer: {exc}"], "complete": False, "state": None, "try_number": None}
        page |= {"offset": 0, "next_offset": offset or 0, "total_lines": 0}
    if before is not None:
        page["lines"] = page["lines"][: before - page["offset"]]
    group = "" if before is not None else request.GET.get("group", "")[:200]
    sections = log_sections(page["lines"], open_group=group or None)
    context = {
        "workflow": workflow,
        "run_id": run_id,
        "task_id": task_id,
        "page": page,
        "sections": sections,
        "open_group": open_group_after(sections),
        "follow": before is None and not page.get("complete"),
        "log_url": f"/workflows/{slug}/runs/{run_id}/tasks/{task_id}/log/",
    }
    if before is not None:
        template = "workflows/partials/task_log_earlier.html"
    elif offset is not None:
        template = "workflows/partials/task_log_lines.html"
    else:
        template = "workflows/partials/task_log.html"
    return render(request, template, context)


# --- results ----------------------------------------------------------------------------------
def _result_of(request, workflow, run_id: str, task_id: str) -> dict | None:
    """The task's result.json through workflows.results (the API's resolver); problems are shown as text."""
    try:
        return task_result(tenant=request.tenant, workflow=workflow, run_id=run_id, task_id=task_id)
    except ResultNotFound as exc:
        return {"status": "missing", "error": str(exc), "output": None, "files": []}


def _open_result(request, workflow, run_id: str, task_id: str, value: str):
    """A produced file of this task (a ResultFile, to be closed), or None: only inside the task's own folder,
    opened by workflows.results without following any symlink."""
    try:
        relative = task_file_relative(
            tenant=request.tenant, workflow=workflow, run_id=run_id, task_id=task_id, value=value
        )
        return result_file_open(tenant=request.tenant, workflow=workflow, run_id=run_id, task_id=task_id, path=relative)
    except ResultNotFound:
        return None


def _table_from(opened) -> dict | None:
    """The first rows of a CSV or a JSON list of objects (an open workflows.results.ResultFile), else None."""
    suffix = Path(opened.name).suffix.lower()
    try:
        if suffix == ".csv":
            handle = io.TextIOWrapper(opened.file, encoding="utf-8", errors="replace", newline="")
            reader = csv.reader(handle)
            rows = []
            for index, row in enumerate(reader):
                if index > TABLE_ROWS:
                    break
                rows.append(row)
            if not rows:
                return None
            return {"header": rows[0], "rows": rows[1 : TABLE_ROWS + 1], "more": len(rows) > TABLE_ROWS}
        if suffix == ".json" and opened.size < 5_000_000:
            data = json.loads(opened.file.read())
            if isinstance(data, list) and data and all(isinstance(r, dict) for r in data[:TABLE_ROWS]):
                header = list(dict.fromkeys(k for r in data[:TABLE_ROWS] for k in r))
                rows = [[r.get(k, "") for k in header] for r in data[:TABLE_ROWS]]
                return {"header": header, "rows": rows, "more": len(data) > TABLE_ROWS}
    except (OSError, ValueError, csv.Error):
        return None
    return None


def task_results(request, slug: str, run_id: str, task_id: str):
    workflow = workflow_or_404(slug)
    result = _result_of(request, workflow, run_id, task_id)
    items = []
    if result:
        output = result.get("output") or {}
        file_fields = set(result.get("files") or [])
        for field, value in output.items():
            item = {"field": field, "value": value}
            if field in file_fields and isinstance(value, str):
                opened = _open_result(request, workflow, run_id, task_id, value)
                query = urlencode({"path": value})
                item["url"] = f"/workflows/{slug}/runs/{run_id}/tasks/{task_id}/files/?{query}"
                item["name"] = Path(value).name
                suffix = Path(value).suffix.lower()
                if opened is None:
                    item["kind"] = "missing"
                else:
                    with opened.file:
                        if suffix in IMAGE_EXT:
                            item["kind"] = "image"
                        elif suffix in (".html", ".htm"):
                            item["kind"] = "html"
                        else:
                            table = _table_from(opened)
                            item["kind"] = "table" if table else "download"
                            item["table"] = table
            else:
                item["kind"] = "value"
                item["text"] = value if isinstance(value, str) else json.dumps(value, indent=2)
            items.append(item)
    context = {"workflow": workflow, "run_id": run_id, "task_id": task_id, "result": result, "items": items}
    return render(request, "workflows/partials/task_results.html", context)


@xframe_options_sameorigin
def task_file(request, slug: str, run_id: str, task_id: str):
    workflow = workflow_or_404(slug)
    relative = request.GET.get("path", "")
    opened = _open_result(request, workflow, run_id, task_id, relative) if relative else None
    if opened is None:
        raise Http404("No such result file.")
    headers = result_headers(opened.name)
    response = FileResponse(opened.file, content_type=headers.pop("Content-Type"))
    for key, value in headers.items():
        response[key] = value
    response["Content-Length"] = str(opened.size)
    if request.GET.get("download") == "1":
        response["Content-Disposition"] = headers["Content-Disposition"].replace("inline;", "attachment;", 1)
    return response


# --- actions ----------------------------------------------------------------------------------
@require_POST
@require_role("editor")
def run_action(request, slug: str, run_id: str, action: str):
    workflow = workflow_or_404(slug)
    task_id = request.POST.get("task_id", "")
    try:
        if action == "cancel":
            supervision.run_cancel(tenant=request.tenant, workflow=workflow, run_id=run_id)
            messages.success(request, "Run cancelled: it is marked failed and no more tasks start.")
        elif action == "clear":
            only_failed = request.POST.get("only_failed") == "1"
            supervision.run_clear(tenant=request.tenant, workflow=workflow, run_id=run_id, only_failed=only_failed)
            messages.success(
                request,
                "Cleared the failed tasks; they run again."
                if only_failed
                else "Cleared the run; all its tasks run again.",
            )
        elif action == "retry" and task_id:
            cleared = supervision.task_clear(
                tenant=request.tenant, workflow=workflow, run_id=run_id, task_ids=[task_id]
            )
            messages.success(request, f"Retrying {', '.join(cleared) or task_id}.")
        else:
            raise Http404("Unknown action.")
    except supervision.RunNotFound as exc:
        messages.error(request, str(exc))
    except AirflowError as exc:
        messages.error(request, f"Airflow refused: {exc}")
    suffix = f"?task={task_id}" if task_id else ""
    return redirect(f"/workflows/{slug}/runs/{run_id}/{suffix}")
