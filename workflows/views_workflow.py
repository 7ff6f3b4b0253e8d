"""A workflow's pages besides the canvas: settings, versions (diff, restore), deploy (live badge), run now.
All work with plain forms and links; HTMX only makes them nicer."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from flowui.lib.airflow import AirflowError, AirflowUnavailable
from tenants.permissions import require_role
from workflows import services
from workflows.models import DeployState
from workflows.schedules import cron_text, next_fire_times, schedule_changes
from workflows.selectors import WorkflowNotFound, version_get, versions_diff, versions_list
from workflows.spec import PARAM_NAME_RE, SCHEDULE_PRESETS
from workflows.supervision import ParamsInvalid, WorkflowNotDeployed, run_trigger
from workflows.views_common import workflow_or_404
from workflows.views_lifecycle import go

PARAM_TYPES = ("string", "integer", "number", "boolean")
PENDING_STATES = (DeployState.PENDING, DeployState.WAITING_FOR_AIRFLOW)


def cron_preview(request):
    preset = request.GET.get("schedule_preset", "").strip()
    schedule = request.GET.get("schedule_cron", "").strip() if preset == "cron" else preset
    if not preset and request.GET.get("schedule_cron", "").strip():
        schedule = request.GET["schedule_cron"].strip()  # the cron field alone (an older form)
    start_date = request.GET.get("start_date", "").strip()
    next_runs = next_fire_times(schedule=schedule or None, start_date=_start_date_text(start_date) or None)
    return render(request, "workflows/partials/schedule_preview.html", {"next_runs": next_runs})


def _start_date_text(raw: str) -> str:
    """The form's datetime-local value (2024-01-01T00:00) as the spec's ISO text (UTC)."""
    raw = raw.strip()
    return raw + ":00+00:00" if raw and len(raw) == 16 else raw


# --- settings ---------------------------------------------------------------------------------
def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _params_from_post(post) -> tuple[list[dict], list[str]]:
    params, errors = [], []
    names = post.getlist("param_name")
    types = post.getlist("param_type")
    defaults = post.getlist("param_default")
    descriptions = post.getlist("param_description")
    for index, name in enumerate(names):
        name = name.strip()
        if not name:
            continue
        kind = types[index] if index < len(types) and types[index] in PARAM_TYPES else "string"
        raw = defaults[index].strip() if index < len(defaults) else ""
        if not PARAM_NAME_RE.match(name):
            errors.append(f"Parameter {name!r}: use letters, digits and '_', starting with a letter or '_'.")
            continue
        default = None
        if raw:
            try:
                default = {
                    "string": str,
                    "integer": int,
                    "number": float,
                    "boolean": lambda v: {"true": True, "false": False}[v.lower()],
                }[kind](raw)
            except (ValueError, KeyError):
                errors.append(
                    f"Parameter {name!r}: the default {raw!r} is not {_a(kind)}"
                    + (" (use true or false)." if kind == "boolean" else ".")
                )
                continue
        params.append(
            {
                "name": name,
                "type": kind,
                "default": default,
                "description": descriptions[index].strip() if index < len(descriptions) else "",
            }
        )
    return params, errors


def workflow_settings(request, slug: str):
    workflow = workflow_or_404(slug)
    version = workflow.current_version
    spec = dict(version.spec) if version else {"nodes": [], "edges": []}
    errors: list[str] = []
    if request.method == "POST":
        if not request.membership.has_role("editor"):
            raise PermissionDenied("This needs the editor role.")
        preset = request.POST.get("schedule_preset", "")
        schedule = request.POST.get("schedule_cron", "").strip() if preset == "cron" else (preset or None)
        _, schedule_error = cron_text(schedule)
        if schedule_error:
            errors.append(schedule_error)
        start_date = _start_date_text(request.POST.get("start_date", ""))
        params, param_errors = _params_from_post(request.POST)
        errors.extend(param_errors)
        tags = [t.strip() for t in request.POST.get("tags", "").split(",") if t.strip()]
        if not errors:
            try:
                services.workflow_update(
                    workflow=workflow,
                    name=request.POST.get("name", workflow.name),
                    description=request.POST.get("description", workflow.description),
                )
                new_spec = {**spec, "schedule": schedule, "params": params, "tags": tags}
                if start_date:
                    new_spec["start_date"] = start_date
                base_text = request.POST.get("base_version", "")
                services.workflow_save_version(
                    workflow=workflow,
                    spec=new_spec,
                    base_version=int(base_text) if base_text.isdigit() else None,
                    user=request.user,
                    message="Settings changed",
                )
            except services.WorkflowConflict as exc:
                errors.append(str(exc))
            except services.WorkflowInvalid as exc:
                errors.extend(exc.errors.get("workflow") or [str(exc)])
                for node_errors in (exc.errors.get("nodes") or {}).values():
                    errors.extend(f"{k}: {m}" for k, msgs in node_errors.items() for m in msgs)
            else:
                messages.success(request, "Settings saved as a new version.")
                return redirect("workflow_settings", slug=slug)
        spec.update({"schedule": schedule, "params": params or spec.get("params", []), "tags": tags})
    schedule = spec.get("schedule")
    deployed = workflow.deployed_version
    context = {
        "workflow": workflow,
        "version": version,
        "spec": spec,
        "errors": errors,
        "presets": SCHEDULE_PRESETS,
        "preset": schedule if schedule in SCHEDULE_PRESETS or not schedule else "cron",
        "cron": schedule if schedule and schedule not in SCHEDULE_PRESETS else "",
        "next_runs": next_fire_times(schedule=schedule, start_date=spec.get("start_date")),
        "undeployed": schedule_changes(
            saved=version.spec if version else None, deployed=deployed.spec if deployed else None
        ),
        "param_types": PARAM_TYPES,
        "params": [*spec.get("params", []), {"name": "", "type": "string", "default": None, "description": ""}],
        "start_date": (spec.get("start_date") or "")[:16],
        "tags": ", ".join(spec.get("tags") or []),
    }
    return render(request, "workflows/settings.html", context, status=400 if errors else 200)


# --- versions ---------------------------------------------------------------------------------
def workflow_versions(request, slug: str):
    workflow = workflow_or_404(slug)
    versions = list(versions_list(workflow=workflow)[:100])
    return render(request, "workflows/versions.html", {"workflow": workflow, "versions": versions})


def workflow_version(request, slug: str, number: int):
    workflow = workflow_or_404(slug)
    try:
        version = version_get(workflow=workflow, number=number)
    except WorkflowNotFound as exc:
        raise Http404(str(exc)) from None
    against_text = request.GET.get("against", "")
    against_number = int(against_text) if against_text.isdigit() else number - 1
    against = None
    if against_number >= 1:
        try:
            against = version_get(workflow=workflow, number=against_number)
        except WorkflowNotFound:
            against = None
    diff = versions_diff(old=against.spec if against else {}, new=version.spec)
    context = {
        "workflow": workflow,
        "version": version,
        "against": against,
        "diff": diff,
        "spec_json": json.dumps(version.spec, indent=2),
    }
    return render(request, "workflows/version.html", context)


@require_POST
@require_role("editor")
def workflow_version_restore(request, slug: str, number: int):
    workflow = workflow_or_404(slug)
    try:
        version = services.workflow_restore_version(workflow=workflow, number=number, user=request.user)
    except (WorkflowNotFound, services.WorkflowConflict, services.WorkflowInvalid) as exc:
        messages.error(request, str(exc))
        return go(request, reverse("workflow_versions", kwargs={"slug": slug}))
    messages.success(request, f"Restored version {number} as version {version.number}.")
    return go(request, reverse("workflow_editor", kwargs={"slug": slug}))


# --- deploy -----------------------------------------------------------------------------------
def deploy_badge(request, slug: str):
    """The deploy status badge; while pending it asks again every second (hx-trigger), then stops."""
    workflow = workflow_or_404(slug)
    if workflow.deploy_state in PENDING_STATES:
        try:
            services.workflow_deploy_check(tenant=request.tenant, workflow=workflow)
        except AirflowError:
            pass  # recorded as waiting_for_airflow; the badge says so
        workflow.refresh_from_db()
    return render(
        request,
        "workflows/partials/deploy_badge.html",
        {"workflow": workflow, "pending": workflow.deploy_state in PENDING_STATES},
    )


@require_POST
@require_role("editor")
def workflow_deploy(request, slug: str):
    workflow = workflow_or_404(slug)
    error = ""
    try:
        workflow = services.workflow_deploy(tenant=request.tenant, workflow=workflow, user=request.user)
    except services.WorkflowInvalid as exc:
        problems = list(exc.errors.get("workflow") or [])
        for node_id, fields in (exc.errors.get("nodes") or {}).items():
            problems.extend(f"{node_id} {k}: {m}" for k, msgs in fields.items() for m in msgs)
        error = f"{exc} " + "; ".join(problems[:5])
    except (services.WorkflowNotDeployable, AirflowUnavailable) as exc:
        error = str(exc)
    if request.htmx:
        response = render(
            request,
            "workflows/partials/deploy_badge.html",
            {"workflow": workflow, "pending": workflow.deploy_state in PENDING_STATES, "error": error},
        )
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Deploying version {workflow.deployed_version.number}…")
    return redirect(request.POST.get("next") or f"/workflows/{slug}/edit/")


# --- run now ----------------------------------------------------------------------------------
def _coerce_param(kind: str, raw: str):
    if kind == "integer":
        return int(raw)
    if kind == "number":
        return float(raw)
    if kind == "boolean":
        return {"true": True, "false": False, "on": True}[raw.lower()]
    return raw


def workflow_run(request, slug: str):
    workflow = workflow_or_404(slug)
    version = workflow.deployed_version or workflow.current_version
    params = [p for p in ((version.spec if version else {}).get("params") or []) if isinstance(p, dict)]
    errors: dict[str, list[str]] = {}
    general = ""
    values = {p["name"]: ("" if p.get("default") is None else p.get("default")) for p in params}
    if request.method == "POST":
        if not request.membership.has_role("editor"):
            raise PermissionDenied("This needs the editor role.")
        overrides = {}
        for param in params:
            name, kind = param["name"], param.get("type", "string")
            raw = request.POST.get(f"param_{name}", "")
            if kind == "boolean":
                raw = "true" if request.POST.get(f"param_{name}") else "false"
            values[name] = raw
            if raw == "" and kind != "string":
                continue
            try:
                value = _coerce_param(kind, raw)
            except (ValueError, KeyError):
                errors[name] = [f"Enter {_a(kind)}."]
                continue
            if value != param.get("default"):
                overrides[name] = value
        if not errors:
            try:
                run = run_trigger(tenant=request.tenant, workflow=workflow, user=request.user, params=overrides)
            except ParamsInvalid as exc:
                errors = exc.errors
            except (WorkflowNotDeployed, AirflowError) as exc:
                general = str(exc)
            else:
                messages.success(request, f"Started run {run['run_id']}.")
                return go(request, reverse("run_detail", kwargs={"slug": slug, "run_id": run["run_id"]}))
    fields = [{**p, "value": values.get(p["name"], ""), "errors": errors.get(p["name"], [])} for p in params]
    context = {"workflow": workflow, "fields": fields, "errors": errors, "general": general}
    # htmx swaps only 2xx answers: the form's errors come back as a 200 page to an htmx request.
    status = 400 if (errors or general) and not request.htmx else 200
    return render(request, "workflows/run_now.html", context, status=status)
