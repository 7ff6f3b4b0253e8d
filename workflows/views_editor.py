"""The workflow editor: the canvas page and its action endpoints.

The working spec lives in the page (static/js/editor.js) and is posted with each action, so every action
endpoint does a constant number of queries whatever the node count: the node form and its update read the
operator versions of the node and its upstream nodes in one query; add node reads one operator version;
connect reads nothing; save writes one version (through workflows.services).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_POST

from tenants.permissions import require_role
from workflows import graph
from workflows import jsonschema_form as jsf
from workflows.selectors import WorkflowNotFound, workflow_get

MAX_SPEC_CHARS = 1_000_000
EDITOR_ROLE = "editor"


# --- shared helpers ---------------------------------------------------------------------------
def workflow_or_404(slug: str):
    try:
        return workflow_get(slug=slug)
    except WorkflowNotFound as exc:
        raise Http404(str(exc)) from None


def operator_versions_qs(tenant):
    """Operator versions this tenant may use (platform-wide and its private repositories)."""
    try:
        from registry.selectors import operator_versions_for_tenant
    except ImportError:  # the registry's selectors are not there yet: same rule, read directly
        from registry.models import OperatorVersion

        return OperatorVersion.objects.filter(Q(repository__tenant__isnull=True) | Q(repository__tenant=tenant))
    return operator_versions_for_tenant(tenant=tenant)


def operator_versions_for_pins(tenant, pins: list[dict]) -> dict[tuple[str, str, str], Any]:
    """{(repository, name, version): newest OperatorVersion} for the given pins, in one query."""
    condition = Q()
    keys = set()
    for pin in pins:
        if not isinstance(pin, dict):
            continue
        key = (str(pin.get("repository", "")), str(pin.get("name", "")), str(pin.get("version", "")))
        if key in keys:
            continue
        keys.add(key)
        condition |= Q(repository__slug=key[0], name=key[1], version=key[2])
    if not keys:
        return {}
    found: dict[tuple[str, str, str], Any] = {}
    rows = operator_versions_qs(tenant).filter(condition).select_related("repository").order_by("-created_at")
    for operator_version in rows:
        key = (operator_version.repository.slug, operator_version.name, operator_version.version)
        found.setdefault(key, operator_version)
    return found


def pin_key(node: dict) -> tuple[str, str, str]:
    pin = node.get("operator") or {}
    return (str(pin.get("repository", "")), str(pin.get("name", "")), str(pin.get("version", "")))


@functools.cache
def _icon_names() -> tuple[frozenset, dict]:
    """Symbol ids of the vendored Lucide sprite and Lucide's old names for them (read once)."""
    folder = settings.BASE_DIR / "static" / "vendor" / "lucide"
    try:
        names = frozenset(re.findall(r'<symbol id="([^"]+)"', (folder / "sprite.svg").read_text()))
        aliases = json.loads((folder / "aliases.json").read_text())
    except (OSError, ValueError):
        return frozenset(), {}
    return names, aliases


def icon_id(name: str) -> str:
    """The sprite symbol for an operator's icon name, or "" when the sprite has none (a letter is shown)."""
    names, aliases = _icon_names()
    name = aliases.get(name, name)
    return name if name in names else ""


def style_of(operator_version) -> dict:
    style = (operator_version.metadata or {}).get("style") or {} if operator_version else {}
    icon = style.get("icon") or "box"
    return {
        "label": style.get("label") or (operator_version.name if operator_version else ""),
        "colour": style.get("colour") or "#4a6fa5",
        "icon": icon,
        "icon_id": icon_id(icon),
    }


class BadRequest(Exception):
    pass


def posted_spec(request) -> dict:
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


def ancestors_of(spec: dict, node_id: str) -> list[str]:
    """Node ids upstream of `node_id` (transitively), nearest first."""
    return graph.ancestors(graph.edges_of(spec), node_id)


def creates_cycle(spec: dict, source: str, target: str) -> bool:
    """Would source -> target close a loop (is source reachable from target)?"""
    return graph.creates_cycle(graph.edges_of(spec), source, target)


def json_error(message: str, status: int = 400, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


# --- the page ---------------------------------------------------------------------------------
def palette_groups(tenant) -> list[dict]:
    """The newest version of each operator, grouped by repository."""
    groups: dict[str, dict] = {}
    seen = set()
    rows = operator_versions_qs(tenant).select_related("repository").order_by("repository__name", "name", "-created_at")
    for operator_version in rows:
        key = (operator_version.repository_id, operator_version.name)
        if key in seen:
            continue
        seen.add(key)
        repository = operator_version.repository
        group = groups.setdefault(repository.slug, {"repository": repository, "operators": []})
        style = style_of(operator_version)
        group["operators"].append(
            {
                "id": operator_version.pk,
                "name": operator_version.name,
                "version": operator_version.version,
                "label": style["label"],
                "colour": style["colour"],
                "icon": style["icon"],
                "icon_id": style["icon_id"],
                "description": (operator_version.metadata or {}).get("description", ""),
                "search": f"{operator_version.name} {style['label']} {repository.slug} {repository.name}".lower(),
            }
        )
    return list(groups.values())


def editor(request, slug: str):
    workflow = workflow_or_404(slug)
    version = workflow.current_version
    spec = version.spec if version else {"nodes": [], "edges": []}
    errors = {"nodes": {}, "workflow": []}
    if version and spec.get("nodes"):
        from workflows.validation import validate_spec

        errors = validate_spec(tenant=request.tenant, spec_data=spec)
    pins = operator_versions_for_pins(request.tenant, [n.get("operator") for n in spec.get("nodes", [])])
    styles = {n["id"]: style_of(pins.get(pin_key(n))) for n in spec.get("nodes", []) if isinstance(n, dict)}
    can_edit = request.membership.has_role(EDITOR_ROLE)
    context = {
        "workflow": workflow,
        "version": version,
        "base_version": version.number if version else None,
        "spec": spec,
        "errors": errors,
        "styles": styles,
        "groups": palette_groups(request.tenant) if can_edit else [],
        "editor_can_edit": can_edit,
        "urls": {
            "add_node": f"/workflows/{slug}/editor/add-node/",
            "node_form": f"/workflows/{slug}/editor/node-form/",
            "node_update": f"/workflows/{slug}/editor/node-update/",
            "connect": f"/workflows/{slug}/editor/connect/",
            "save": f"/workflows/{slug}/editor/save/",
            "validate": f"/workflows/{slug}/editor/validate/",
            "icons": static("vendor/lucide/sprite.svg"),
        },
    }
    return render(request, "workflows/editor.html", context)


# --- action endpoints -------------------------------------------------------------------------
_ID_CLEAN = re.compile(r"[^A-Za-z0-9_]+")


def new_node_id(name: str, taken: set[str]) -> str:
    base = _ID_CLEAN.sub("_", name).strip("_").lower() or "node"
    if not base[0].isalpha():
        base = "n_" + base
    base = base[:56]
    number = 1
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def _number(text: str, default: float = 0.0) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return default
    return value if abs(value) < 1e7 else default


@require_POST
@require_role(EDITOR_ROLE)
def node_add(request, slug: str):
    try:
        operator_id = int(request.POST.get("operator", ""))
    except ValueError:
        return json_error("Pick an operator from the palette.")
    operator_version = operator_versions_qs(request.tenant).select_related("repository").filter(pk=operator_id).first()
    if operator_version is None:
        return json_error("That operator is not available in this workspace (any more); reload the palette.", 404)
    taken = {part for part in request.POST.get("spec_ids", "").split(",") if part}
    style = style_of(operator_version)
    node = {
        "id": new_node_id(operator_version.name, taken),
        "label": style["label"],
        "operator": {
            "repository": operator_version.repository.slug,
            "name": operator_version.name,
            "version": operator_version.version,
        },
        "position": {"x": round(_number(request.POST.get("x"))), "y": round(_number(request.POST.get("y")))},
        "inputs": jsf.default_inputs(operator_version.input_schema),
        "execution_mode": "local",
        "retries": 0,
        "timeout_s": 3600,
    }
    return JsonResponse({"node": node, "style": style})


def _node_context(request, spec: dict, node_id: str):
    nodes = {n.get("id"): n for n in spec["nodes"] if isinstance(n, dict)}
    node = nodes.get(node_id)
    if node is None:
        raise BadRequest(f"There is no node {node_id!r} in this workflow.")
    upstream_ids = [i for i in ancestors_of(spec, node_id) if i in nodes]
    found = operator_versions_for_pins(
        request.tenant, [node.get("operator")] + [nodes[i].get("operator") for i in upstream_ids]
    )
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


def _render_node_form(request, node, operator_version, upstream, params, field_errors, other_errors, status=200):
    schema = operator_version.input_schema if operator_version else None
    context = {
        "node": node,
        "operator_version": operator_version,
        "form_html": jsf.render_form(
            schema, inputs=node.get("inputs") or {}, errors=field_errors, upstream=upstream, params=params
        )
        if operator_version
        else "",
        "other_errors": other_errors,
        "can_edit": request.membership.has_role(EDITOR_ROLE),
        "execution_modes": (operator_version.metadata or {}).get("execution_modes") or ["local", "batch", "kubernetes"]
        if operator_version
        else ["local"],
        "update_url": request.path.replace("node-form", "node-update"),
    }
    return render(request, "workflows/partials/node_form.html", context, status=status)


@require_POST
def node_form(request, slug: str):
    """The form of one node (viewers get it read-only)."""
    try:
        spec = posted_spec(request)
        node, operator_version, upstream, params = _node_context(request, spec, request.POST.get("node_id", ""))
        node_errors = json.loads(request.POST.get("errors") or "{}")
    except (BadRequest, ValueError) as exc:
        return HttpResponse(f'<p class="error" role="alert">{_esc(exc)}</p>', status=400)
    field_errors, other = _split_errors(node_errors if isinstance(node_errors, dict) else {})
    if operator_version is None:
        other.append("Its operator version is not available any more; replace the node.")
    return _render_node_form(request, node, operator_version, upstream, params, field_errors, other)


def _esc(value) -> str:
    from django.utils.html import escape

    return escape(str(value))


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
        return HttpResponse(f'<p class="error" role="alert">{_esc(exc)}</p>', status=400)
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
    response = _render_node_form(request, node, operator_version, upstream, params, field_errors, other)
    response["HX-Trigger"] = json.dumps({"flowui:inputs": detail})
    return response


@require_POST
@require_role(EDITOR_ROLE)
def connect(request, slug: str):
    try:
        spec = posted_spec(request)
    except BadRequest as exc:
        return json_error(str(exc))
    source, target = request.POST.get("source", ""), request.POST.get("target", "")
    ids = {n.get("id") for n in spec["nodes"] if isinstance(n, dict)}
    if source not in ids or target not in ids:
        return json_error("Both ends of a connection must be nodes of this workflow.")
    if source == target:
        return json_error("A node cannot feed itself.")
    if any(isinstance(e, dict) and e.get("source") == source and e.get("target") == target for e in spec["edges"]):
        return json_error(f"{source} already feeds {target}.")
    if creates_cycle(spec, source, target):
        return json_error(f"Connecting {source} → {target} would make a loop; workflows must be acyclic.")
    return JsonResponse({"ok": True, "edge": {"source": source, "target": target}})


@require_POST
@require_role(EDITOR_ROLE)
def save(request, slug: str):
    """Save the posted spec as a new version. Validation against the registry is a separate call
    (`validate`), so saving stays O(1) in queries whatever the node count."""
    from workflows import services

    workflow = workflow_or_404(slug)
    try:
        spec = posted_spec(request)
    except BadRequest as exc:
        return json_error(str(exc))
    base_text = request.POST.get("base_version", "")
    base_version = int(base_text) if base_text.isdigit() else None
    message = request.POST.get("message", "")[:500]
    try:
        version = services.workflow_save_version(
            workflow=workflow, spec=spec, base_version=base_version, user=request.user, message=message
        )
    except services.WorkflowConflict as exc:
        return json_error(str(exc), 409, conflict=True, current_version=exc.current_version)
    except services.WorkflowInvalid as exc:
        return json_error(str(exc), 400, errors=exc.errors)
    return JsonResponse({"version": version.number})


@require_POST
def validate(request, slug: str):
    """Per-node, per-field problems of the posted spec (the editor asks after each save)."""
    from workflows import services

    try:
        spec = posted_spec(request)
    except BadRequest as exc:
        return json_error(str(exc))
    return JsonResponse({"errors": services.workflow_validate(tenant=request.tenant, spec=spec)})


def editor_redirect(request, slug: str):
    return redirect("workflow_editor", slug=slug)


def flash_and_redirect(request, text: str, to: str, level=messages.SUCCESS):
    messages.add_message(request, level, text)
    return redirect(to)
