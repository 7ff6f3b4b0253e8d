"""A workflow's lifecycle in the portal: pause/unpause its schedule, duplicate it, delete it (after a
confirmation page, which works without JavaScript)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from flowui.lib.airflow import AirflowError
from tenants.permissions import require_role
from workflows.services import WorkflowInvalid, workflow_delete
from workflows.services_lifecycle import workflow_duplicate
from workflows.supervision import workflow_pause_set
from workflows.views_common import workflow_or_404


def _back(request, default: str) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


def go(request, url: str):
    """A redirect; an htmx request gets HX-Redirect (a full page load, so the URL and messages are right)."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_POST
@require_role("editor")
def workflow_pause(request, slug: str):
    workflow = workflow_or_404(slug)
    paused = request.POST.get("paused", "") in ("1", "true", "on")
    try:
        workflow_pause_set(tenant=request.tenant, workflow=workflow, paused=paused)
    except AirflowError as exc:
        messages.error(request, f"Airflow did not take the change, nothing was changed: {exc}")
    else:
        messages.success(
            request,
            f"Paused {workflow.name}: no scheduled runs until you resume it."
            if paused
            else f"Resumed {workflow.name}: its schedule runs again.",
        )
    return go(request, _back(request, "/workflows/"))


@require_POST
@require_role("editor")
def workflow_copy(request, slug: str):
    workflow = workflow_or_404(slug)
    try:
        copy = workflow_duplicate(workflow=workflow, user=request.user)
    except WorkflowInvalid as exc:
        messages.error(request, "; ".join(exc.errors.get("workflow") or [str(exc)]))
        return go(request, _back(request, "/workflows/"))
    messages.success(
        request, f"Created {copy.name} ({copy.slug}) from version {workflow.current_version.number}; not deployed yet."
    )
    return go(request, reverse("workflow_settings", kwargs={"slug": copy.slug}))


@require_role("editor")
def workflow_remove(request, slug: str):
    """GET: the confirmation page. POST: delete the workflow, its DAG file and (in Celery) its Airflow DAG."""
    workflow = workflow_or_404(slug)
    if request.method == "POST":
        if request.POST.get("confirm") != workflow.slug:
            messages.error(request, "Not deleted: confirm with the Delete button of this page.")
            return redirect("workflow_delete", slug=slug)
        name = workflow.name
        workflow_delete(tenant=request.tenant, workflow=workflow)
        messages.success(request, f"Deleted {name}, its versions and its DAG (its runs go with the DAG).")
        return redirect("workflow_list")
    return render(request, "workflows/delete.html", {"workflow": workflow})
