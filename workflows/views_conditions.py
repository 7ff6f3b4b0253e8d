"""The editor's branch conditions: the small form an edge opens and the check of what it sends.

Both endpoints take the working spec the page posts (like every editor action) and read one row: the source
node's operator version, for the fields of its output schema. The page (static/js/edge_conditions.js) keeps the
condition on the edge in its spec and draws it as a label; saving goes through the editor's save endpoint.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from flowui_runtime.contracts import CONDITION_OPS, Condition
from registry.selectors import operator_versions_for_pins
from tenants.permissions import require_role
from workflows.spec import EdgeSpec
from workflows.validation import condition_problem, json_types
from workflows.views_common import BadRequest, json_error, posted_spec, workflow_or_404
from workflows.views_editor import EDITOR_ROLE

OP_LABELS = {"==": "equals", "!=": "differs from", ">": "greater than", ">=": "at least", "<": "less than",
             "<=": "at most", "in": "one of", "truthy": "is set (true, non-zero, non-empty)"}  # fmt: skip


def _edge_context(request, slug: str) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """(the posted spec, the edge between the posted source and target, the source's operator version)."""
    workflow_or_404(slug)
    spec = posted_spec(request)
    source, target = request.POST.get("source", ""), request.POST.get("target", "")
    edge = next(
        (e for e in spec["edges"] if isinstance(e, dict) and e.get("source") == source and e.get("target") == target),
        None,
    )
    if edge is None:
        raise BadRequest(f"There is no connection {source} → {target} in this workflow.")
    node = next((n for n in spec["nodes"] if isinstance(n, dict) and n.get("id") == source), None)
    pin = (node or {}).get("operator") or {}
    key = (str(pin.get("repository", "")), str(pin.get("name", "")), str(pin.get("version", "")))
    source_version = operator_versions_for_pins(tenant=request.tenant, pins=[key]).get(key)
    if source_version is None:
        raise BadRequest(f"The operator of {source} is unknown or not synced: its output fields are not known.")
    return spec, edge, source_version


def _output_fields(source_version) -> list[dict[str, str]]:
    schema = source_version.output_schema or {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    return [
        {"name": name, "types": " or ".join(sorted(json_types(sub, schema) or {"any"}))}
        for name, sub in sorted(properties.items())
    ]


def value_text(value: Any) -> str:
    """How a condition's value shows in the form: strings as typed (JSON if they would read as something else)."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value)


def parse_value(text: str, op: str) -> Any:
    """The form's value: JSON where it reads as JSON (5, 2.5, true, "5", [1, 2]), else the text itself; for `in`
    a JSON list or comma-separated items; nothing for `truthy`."""
    text = text.strip()
    if op == "truthy" or text == "":
        return None

    def one(item: str) -> Any:
        try:
            return json.loads(item)
        except ValueError:
            return item

    if op == "in":
        parsed = one(text)
        return parsed if isinstance(parsed, list) else [one(part.strip()) for part in text.split(",") if part.strip()]
    return one(text)


@require_POST
@require_role(EDITOR_ROLE)
def edge_form(request, slug: str):
    """The condition form of one edge (a partial for the editor's side panel)."""
    try:
        _, edge, source_version = _edge_context(request, slug)
    except BadRequest as exc:
        return json_error(str(exc))
    when = edge.get("when") if isinstance(edge.get("when"), dict) else {}
    context = {
        "edge": edge,
        "when": when,
        "value": value_text(when.get("value")),
        "fields": _output_fields(source_version),
        "ops": [(op, OP_LABELS[op]) for op in CONDITION_OPS],
    }
    return render(request, "workflows/partials/edge_form.html", context)


@require_POST
@require_role(EDITOR_ROLE)
def edge_condition(request, slug: str):
    """Check a condition for one edge: {"edge": {...}} to keep in the page's spec, or {"error": ...}. An empty op
    removes the condition."""
    try:
        _, edge, source_version = _edge_context(request, slug)
    except BadRequest as exc:
        return json_error(str(exc))
    plain = {"source": edge["source"], "target": edge["target"]}
    op = request.POST.get("op", "")
    if op == "":
        return JsonResponse({"edge": plain})
    if op not in CONDITION_OPS:
        return json_error(f"Unknown comparison {op!r}: use one of {', '.join(CONDITION_OPS)}.")
    field = request.POST.get("field", "")
    try:
        when = Condition(field=field, op=op, value=parse_value(request.POST.get("value", ""), op))
    except ValidationError:
        return json_error("Choose a field of the upstream node's output.")
    problem = condition_problem(edge=EdgeSpec(**plain, when=when), source_version=source_version)
    if problem:
        return json_error(problem)
    return JsonResponse({"edge": {**plain, "when": when.model_dump(mode="json")}})
