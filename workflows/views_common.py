"""Helpers shared by the portal's workflow views (views.py, views_editor*.py, views_runs.py, views_workflow.py):
the workflow of a URL or 404, the spec the editor posts, and the JSON / HTML error answers of the action
endpoints. Reads go through workflows.selectors; nothing here queries the ORM itself."""

from __future__ import annotations

import json

from django.http import Http404, HttpResponse, JsonResponse
from django.utils.html import escape

from workflows.models import Workflow
from workflows.selectors import WorkflowNotFound, workflow_get

MAX_SPEC_CHARS = 1_000_000


class BadRequest(Exception):
    """Bad input from the page; the message is meant for the user (answered with 400)."""


def workflow_or_404(slug: str) -> Workflow:
    try:
        return workflow_get(slug=slug)
    except WorkflowNotFound as exc:
        raise Http404(str(exc)) from None


def posted_spec(request) -> dict:
    """The working spec the editor posts with each action (`spec`), checked for shape; BadRequest otherwise."""
    text = request.POST.get("spec", "")
    if len(text) > MAX_SPEC_CHARS:
        raise BadRequest("The workflow is too large to send.")
    try:
        spec = json.loads(text or "{}")
    except ValueError:
        raise BadRequest("The editor sent a spec that is not JSON; reload the page.") from None
    if not isinstance(spec, dict):
        raise BadRequest("The editor sent a spec that is not a JSON object; reload the page.")
    spec.setdefault("nodes", [])
    spec.setdefault("edges", [])
    if not isinstance(spec["nodes"], list) or not isinstance(spec["edges"], list):
        raise BadRequest("The spec's nodes and edges must be lists.")
    return spec


def json_error(message: str, status: int = 400, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def html_error(message, status: int = 400) -> HttpResponse:
    """An error as an HTML fragment (for htmx targets), escaped."""
    return HttpResponse(f'<p class="error" role="alert">{escape(str(message))}</p>', status=status)
