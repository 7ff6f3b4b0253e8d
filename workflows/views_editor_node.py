"""The editor's node form: render it (viewers get it read-only) and apply it (node-update). The form comes from
the operator's input JSON Schema (flowui.forms_jsonschema), with the type-compatible outputs of upstream nodes,
the run parameters, the tenant's dataset files for file inputs and, once a CSV dataset is chosen, its columns
for column inputs (datasets.picker; the rule for which fields get which list: forms_jsonschema_schema.field_role).
"""

from __future__ import annotations

import json
from typing import Any

from django.shortcuts import render
from django.views.decorators.http import require_POST

from datasets.picker import dataset_csv_columns, dataset_picker_paths
from flowui import forms_jsonschema as jsf
from flowui.forms_jsonschema_parse import FORM_ACTION
from tenants.permissions import require_role
from workflows.views_common import BadRequest, html_error, posted_spec
from workflows.views_editor import EDITOR_ROLE, ancestors_of, pin_key, versions_of_nodes


def _node_context(request, spec: dict, node_id: str):
    nodes = {n.get("id"): n for n in spec["nodes"] if isinstance(n, dict)}
    node = nodes.get(node_id)
    if node is None:
        raise BadRequest(f"There is no node {node_id!r} in this workflow.")
    upstream_ids = [i for i in ancestors_of(spec, node_id) if i in nodes]
    found = versions_of_nodes(request.tenant, [node] + [nodes[i] for i in upstream_ids])
    operator_version = found.get(pin_key(node))
    upstream = []
    for up_id in upstream_ids:
        up_version = found.get(pin_key(nodes[up_id]))
        if up_version is None:
            continue
        label = nodes[up_id].get("label") or up_id
        for field, kind in jsf.output_fields(up_version.output_schema):
            upstream.append(jsf.UpstreamField(up_id, label, field, kind))
    params = []
    for param in spec.get("params") or []:
        if isinstance(param, dict) and param.get("name"):
            params.append(jsf.ParamRef(str(param["name"]), str(param.get("type") or "string")))
    return node, operator_version, upstream, params


def chosen_dataset(schema: dict | None, inputs: dict) -> str:
    """The literal value of the node's first file input (in field order), or ""."""
    for name, prop in jsf.ordered_properties(schema or {}):
        resolved, _ = jsf.resolve(prop, schema)
        binding = inputs.get(name)
        if jsf.field_role(name, resolved) == jsf.ROLE_DATASET and isinstance(binding, dict):
            if isinstance(binding.get("value"), str) and binding["value"]:
                return binding["value"]
    return ""


def _split_errors(node_errors: dict) -> tuple[dict, list[str]]:
    """Validation errors of one node: those of input fields (keyed by field) and the others (as text)."""
    field_errors, other = {}, []
    for key, msgs in (node_errors or {}).items():
        msgs = msgs if isinstance(msgs, list) else [str(msgs)]
        if key.startswith("inputs."):
            field_errors[key[len("inputs.") :]] = msgs
        else:
            other.extend(msgs if key == "node" else [f"{key.replace('_', ' ')}: {m}" for m in msgs])
    return field_errors, other


def _render_node_form(request, node, operator_version, upstream, params, field_errors, other_errors, adding=()):
    schema = operator_version.input_schema if operator_version else None
    inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
    form_html = ""
    if operator_version:
        form_html = jsf.render_form(
            schema,
            inputs=inputs,
            errors=field_errors,
            upstream=upstream,
            params=params,
            datasets=dataset_picker_paths(tenant=request.tenant),
            columns=dataset_csv_columns(tenant=request.tenant, path=chosen_dataset(schema, inputs)),
            adding=set(adding),
        )
    modes = ["local"]
    if operator_version:
        modes = (operator_version.metadata or {}).get("execution_modes") or ["local", "batch", "kubernetes"]
    context = {
        "node": node,
        "operator_version": operator_version,
        "form_html": form_html,
        "other_errors": other_errors,
        "can_edit": request.membership.has_role(EDITOR_ROLE),
        "execution_modes": modes,
        "update_url": request.path.replace("node-form", "node-update"),
    }
    return render(request, "workflows/partials/node_form.html", context)


@require_POST
def node_form(request, slug: str):
    """The form of one node (viewers get it read-only)."""
    try:
        spec = posted_spec(request)
        node, operator_version, upstream, params = _node_context(request, spec, request.POST.get("node_id", ""))
        node_errors = json.loads(request.POST.get("errors") or "{}")
    except (BadRequest, ValueError) as exc:
        return html_error(exc)
    field_errors, other = _split_errors(node_errors if isinstance(node_errors, dict) else {})
    if operator_version is None:
        other.append("Its operator version is not available any more; replace the node.")
    return _render_node_form(request, node, operator_version, upstream, params, field_errors, other)


def _best_effort(raw: str, kind: str):
    """Keep what the user typed in the spec even when it is invalid (nothing typed is lost)."""
    if kind in ("integer", "number"):
        for convert in (int, float):
            try:
                return convert(raw)
            except ValueError:
                continue
    return raw


@require_POST
@require_role(EDITOR_ROLE)
def node_update(request, slug: str):
    """Parse the node form; answer with the form (errors inline) and, in HX-Trigger, the node's new inputs."""
    try:
        spec = posted_spec(request)
        node_id = request.POST.get("node_id", "")
        node, operator_version, upstream, params = _node_context(request, spec, node_id)
    except BadRequest as exc:
        return html_error(exc)
    schema = operator_version.input_schema if operator_version else {}
    inputs, errors = jsf.parse_form(schema, request.POST, upstream=upstream, params=params)
    properties = (schema or {}).get("properties") or {}
    for name in errors:
        top = name.split(".", 1)[0]
        raw = request.POST.getlist(f"in.{top}")
        if top in properties and top == name and raw and top not in inputs:
            inputs[top] = {"value": _best_effort(raw[-1], jsf.field_type(properties[top], schema))}
    node["inputs"] = inputs
    detail: dict[str, Any] = {
        "node_id": node_id,
        "inputs": inputs,
        "errors": {f"inputs.{k}": v for k, v in errors.items()},
    }
    label = request.POST.get("label")
    if label is not None:
        node["label"] = detail["label"] = label.strip()[:200]
    mode = request.POST.get("execution_mode")
    if mode in ("local", "batch", "kubernetes"):
        node["execution_mode"] = detail["execution_mode"] = mode
    for key, low, high in (("retries", 0, 10), ("timeout_s", 1, 7 * 24 * 3600)):
        text = request.POST.get(key)
        if text is None or text == "":
            continue
        try:
            value = int(text)
        except ValueError:
            errors[f"__{key}"] = [f"{key.replace('_s', '').capitalize()}: enter a whole number."]
            continue
        if not low <= value <= high:
            errors[f"__{key}"] = [f"{key.replace('_s', ' (seconds)').capitalize()}: use {low} to {high}."]
            continue
        node[key] = detail[key] = value
    other = [m for k, msgs in errors.items() if k.startswith("__") for m in msgs]
    field_errors = {k: v for k, v in errors.items() if not k.startswith("__")}
    action = request.POST.get(FORM_ACTION, "")
    adding = [action[len("add:") :]] if action.startswith("add:") else []
    response = _render_node_form(request, node, operator_version, upstream, params, field_errors, other, adding)
    response["HX-Trigger"] = json.dumps({"flowui:inputs": detail})
    return response
