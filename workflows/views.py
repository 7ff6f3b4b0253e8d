"""Portal pages of a tenant: dashboard, workflow list, new workflow.

Editor actions are in views_editor, a workflow's other pages (settings, versions, deploy, run) in
views_workflow, runs in views_runs. Views parse, call services/selectors, render; `request.htmx` gets the
partial of the page.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.shortcuts import redirect, render

from flowui.lib.airflow import AirflowError
from registry.selectors import repositories_for_tenant
from tenants.permissions import require_role
from workflows import services
from workflows.models import DeployState
from workflows.selectors import workflows_list
from workflows.supervision_many import runs_list_many

logger = logging.getLogger(__name__)
TERMINAL_RUN_STATES = ("success", "failed")


def last_runs(tenant, workflows, *, per_workflow: int = 1) -> tuple[dict, list, str]:
    """({workflow id: newest run}, recent runs of these workflows newest first, Airflow problem text).
    One Airflow call for all of them (supervision_many)."""
    deployed = [w for w in workflows if w.deployed_version_id is not None]
    newest, recent, problem = {}, [], ""
    try:
        runs = runs_list_many(tenant=tenant, workflows=deployed, limit=per_workflow * max(len(deployed), 1))["results"]
    except AirflowError as exc:
        return newest, recent, f"Airflow did not answer ({exc}); run states may be missing."
    for run in runs:
        newest.setdefault(run["workflow"].pk, run)
        recent.append(run)
    return newest, recent, problem


def dashboard(request):
    workflows = list(workflows_list().order_by("-updated_at")[:10])
    newest, recent, problem = last_runs(request.tenant, workflows, per_workflow=3)
    for workflow in workflows:
        workflow.last_run = newest.get(workflow.pk)
    context = {
        "workflows": workflows,
        "recent_runs": recent[:10],
        "airflow_problem": problem,
        "repositories": list(repositories_for_tenant(tenant=request.tenant)),
    }
    return render(request, "workflows/dashboard.html", context)


def workflow_list(request):
    search = request.GET.get("q", "").strip()
    state = request.GET.get("state", "")
    workflows = list(workflows_list(search=search, deploy_state=state))
    template = "workflows/partials/workflow_rows.html" if request.htmx else "workflows/list.html"
    return render(
        request, template, {"workflows": workflows, "q": search, "state": state, "states": DeployState.choices}
    )


@require_role("editor")
def workflow_new(request):
    errors = []
    name = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        try:
            workflow = services.workflow_create(
                name=name, user=request.user, description=request.POST.get("description", "")
            )
        except services.WorkflowInvalid as exc:
            errors = exc.errors.get("workflow") or [str(exc)]
        else:
            messages.success(request, f"Created {workflow.name}. Drag operators onto the canvas to build it.")
            return redirect("workflow_editor", slug=workflow.slug)
    return render(request, "workflows/new.html", {"errors": errors, "name": name}, status=400 if errors else 200)
