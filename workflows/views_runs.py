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
from workflows.selectors import workflows_list
from workflows.views_editor import workflow_or_404

TERMINAL = ("success", "failed")
TASK_TERMINAL = ("success", "failed", "skipped", "upstream_failed", "removed")
NODE_W, NODE_H = 180, 56
TABLE_ROWS = 100
IMAGE_EXT = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


def runs_index(request):
    from workflows.supervision_many import runs_list_many

    slug = request.GET.get("workflow", "")
    state = request.GET.get("state", "")
    state = state if state in ("queued", "running", "success", "failed") else ""
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
        "states": ("queued", "running", "success", "failed"),
    }
    template = "workflows/partials/run_rows.html" if request.htmx else "workflows/runs.html"
    return render(request, template, context)


def graph_layout(spec: dict, states: dict[str, str]) -> dict:
    """Boxes and edge paths for an SVG of the workflow, from the saved node positions."""
    nodes = [n for n in spec.get("nodes", []) if isinstance(n, dict) and "id" in n]
    if not nodes:
        return {"nodes": [], "edges": [], "width": 200, "height": 80}
    xs = [float((n.get("position") or {}).get("x", 0)) for n in nodes]
    ys = [float((n.get("position") or {}).get("y", 0)) for n in nodes]
    min_x, min_y = min(xs), min(ys)
    boxes = {}
    for node, x, y in zip(nodes, xs, ys, strict=True):
        boxes[node["id"]] = {
            "id": node["id"],
            "label": (node.get("label") or node["id"])[:28],
            "x": round(x - min_x + 10),
            "y": round(y - min_y + 10),
            "state": states.get(node["id"]) or "none",
        }
    edges = []
    for edge in spec.get("edges", []):
        a, b = boxes.get(edge.get("source")), boxes.get(edge.get("target"))
        if a and b:
            x1, y1, x2, y2 = a["x"] + NODE_W, a["y"] + NODE_H / 2, b["x"], b["y"] + NODE_H / 2
            bend = max(30, abs(x2 - x1) / 2)
            edges.append(f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}")
    width = max(b["x"] for b in boxes.values()) + NODE_W + 20
    height = max(b["y"] for b in boxes.values()) + NODE_H + 20
    return {
        "nodes": list(boxes.values()),
        "edges": edges,
        "width": width,
        "height": height,
        "node_w": NODE_W,
        "node_h": NODE_H,
    }


def _run_context(request, workflow, run_id: str) -> dict:
    from workflows.supervision import RunNotFound, run_detail

    try:
        run = run_detail(tenant=request.tenant, workflow=workflow, run_id=run_id)
    except RunNotFound as exc:
        raise Http404(str(exc)) from None
    version = workflow.deployed_version or workflow.current_version
    spec = version.spec if version else {}
    states = {t["task_id"]: t["state"] for t in run["tasks"]}
    return {
        "workflow": workflow,
        "run": run,
        "graph": graph_layout(spec, states),
        "live": run["state"] not in TERMINAL,
        "selected": request.GET.get("task", ""),
    }


def run_detail(request, slug: str, run_id: str):
    workflow = workflow_or_404(slug)
    try:
        context = _run_context(request, workflow, run_id)
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


def task_log(request, slug: str, run_id: str, task_id: str):
    from workflows.supervision import RunNotFound
    from workflows.supervision import task_log as task_log_page

    workflow = workflow_or_404(slug)
    try:
        page = task_log_page(
            tenant=request.tenant, workflow=workflow, run_id=run_id, task_id=task_id, offset=0, limit=5000
        )
    except RunNotFound as exc:
        raise Http404(str(exc)) from None
    except AirflowError as exc:
        page = {
            "lines": [f"Airflow did not answer: {exc}"],
            "complete": False,
            "state": None,
            "task_id": task_id,
            "try_number": None,
        }
    context = {
        "workflow": workflow,
        "run_id": run_id,
        "task_id": task_id,
        "page": page,
        "follow": not page.get("complete"),
    }
    return render(request, "workflows/partials/task_log.html", context)


# --- results ----------------------------------------------------------------------------------
def _result_of(request, workflow, run_id: str, task_id: str) -> dict | None:
    """The task's result.json through workflows.results (the API's resolver); problems are shown as text."""
    from workflows.results import ResultNotFound, task_result

    try:
        return task_result(tenant=request.tenant, workflow=workflow, run_id=run_id, task_id=task_id)
    except ResultNotFound as exc:
        return {"status": "missing", "error": str(exc), "output": None, "files": []}


def _open_result(request, workflow, run_id: str, task_id: str, value: str):
    """A produced file of this task (a ResultFile, to be closed), or None: only inside the task's own folder,
    opened by workflows.results without following any symlink."""
    from workflows.results import ResultNotFound, result_file_open, task_file_relative

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
    from workflows.results import result_headers

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
    from workflows import supervision

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
