"""The workflow editor: the canvas page and its action endpoints (the node form's are in views_editor_node).

The working spec lives in the page (static/js/editor.js) and is posted with each action, so every action
endpoint does a constant number of queries whatever the node count: the node form and its update read the
operator versions of the node and its upstream nodes in one query; add node reads one operator version;
connect reads nothing; save writes one version (through workflows.services).
"""

from __future__ import annotations

import functools
import json
import re

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_POST

from flowui.forms_jsonschema import default_inputs
from registry.selectors import operator_latest_versions, operator_version_by_id, operator_versions_for_pins
from tenants.permissions import require_role
from workflows import graph, services
from workflows.models import DeployState
from workflows.validation import validate_spec
from workflows.views_common import BadRequest, json_error, posted_spec, workflow_or_404

EDITOR_ROLE = "editor"


# --- shared helpers ---------------------------------------------------------------------------
def pin_key(node: dict) -> tuple[str, str, str]:
    pin = (node.get("operator") if isinstance(node, dict) else None) or {}
    if not isinstance(pin, dict):
        return ("", "", "")
    return (str(pin.get("repository", "")), str(pin.get("name", "")), str(pin.get("version", "")))


def versions_of_nodes(tenant, nodes: list[dict]) -> dict:
    """{pin: OperatorVersion} of the given nodes, in one query (registry.selectors)."""
    return operator_versions_for_pins(tenant=tenant, pins=[pin_key(n) for n in nodes])


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


def display_name(name: str) -> str:
    """An operator's name as a title: `filter_rows` -> `Filter rows`."""
    text = re.sub(r"[_\-]+", " ", name).strip()
    return text[:1].upper() + text[1:] if text else name


def style_of(operator_version) -> dict:
    style = (operator_version.metadata or {}).get("style") or {} if operator_version else {}
    icon = style.get("icon") or "box"
    return {
        "label": style.get("label") or (display_name(operator_version.name) if operator_version else ""),
        "colour": style.get("colour") or "#4a6fa5",
        "icon": icon,
        "icon_id": icon_id(icon),
    }


def ancestors_of(spec: dict, node_id: str) -> list[str]:
    """Node ids upstream of `node_id` (transitively), nearest first."""
    return graph.ancestors(graph.edges_of(spec), node_id)


def creates_cycle(spec: dict, source: str, target: str) -> bool:
    """Would source -> target close a loop (is source reachable from target)?"""
    return graph.creates_cycle(graph.edges_of(spec), source, target)


# --- the page ---------------------------------------------------------------------------------
def palette_groups(tenant) -> list[dict]:
    """The highest version of each operator, grouped by repository (registry.selectors)."""
    groups: dict[str, dict] = {}
    for operator_version in operator_latest_versions(tenant=tenant):
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


def required_params(version) -> list[str]:
    """Names of a version's run parameters without a default (the run needs a value for them)."""
    params = (version.spec if version else {}).get("params") or []
    return [str(p.get("name")) for p in params if isinstance(p, dict) and p.get("default") is None]


def run_defaults(version) -> list[dict]:
    """The params form's fields with their defaults, for a one-click run (workflow_run gets what its form posts)."""
    fields = []
    for param in (version.spec if version else {}).get("params") or []:
        if not isinstance(param, dict) or param.get("default") is None:
            continue
        value = param["default"]
        if param.get("type") == "boolean":
            if value is True:
                fields.append({"name": param["name"], "value": "true"})
            continue
        fields.append({"name": param["name"], "value": str(value)})
    return fields


def deploy_state(workflow) -> dict:
    """What the editor says about saved and live versions, and how Run now works."""
    saved = workflow.current_version.number if workflow.current_version_id else None
    deployed = workflow.deployed_version
    live = deployed.number if deployed and workflow.deploy_state == DeployState.LIVE else None
    return {
        "saved": saved,
        "live": live,
        "state": workflow.deploy_state,
        "one_click_run": bool(deployed) and not required_params(deployed),
        "run_defaults": run_defaults(deployed),
        "needs_params_for_next": bool(required_params(workflow.current_version)),
    }


def editor(request, slug: str):
    workflow = workflow_or_404(slug)
    version = workflow.current_version
    spec = version.spec if version else {"nodes": [], "edges": []}
    errors = {"nodes": {}, "workflow": []}
    if version and spec.get("nodes"):
        errors = validate_spec(tenant=request.tenant, spec_data=spec)
    nodes = [n for n in spec.get("nodes", []) if isinstance(n, dict)]
    pins = versions_of_nodes(request.tenant, nodes)
    styles = {n.get("id"): style_of(pins.get(pin_key(n))) for n in nodes}
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
        "deploy": deploy_state(workflow),
        "urls": {
            "add_node": f"/workflows/{slug}/editor/add-node/",
            "node_form": f"/workflows/{slug}/editor/node-form/",
            "node_update": f"/workflows/{slug}/editor/node-update/",
            "connect": f"/workflows/{slug}/editor/connect/",
            "save": f"/workflows/{slug}/editor/save/",
            "validate": f"/workflows/{slug}/editor/validate/",
            "deploy": f"/workflows/{slug}/deploy/",
            "deploy_status": f"/workflows/{slug}/deploy/status/",
            "run": f"/workflows/{slug}/run/",
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
    operator_version = operator_version_by_id(tenant=request.tenant, pk=operator_id)
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
        # Never at or past the canvas' top-left edge, where the input handle would be hidden.
        "position": {
            "x": max(20, round(_number(request.POST.get("x")))),
            "y": max(20, round(_number(request.POST.get("y")))),
        },
        "inputs": default_inputs(operator_version.input_schema),
        "execution_mode": "local",
        "retries": 0,
        "timeout_s": 3600,
    }
    return JsonResponse({"node": node, "style": style})


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
    try:
        spec = posted_spec(request)
    except BadRequest as exc:
        return json_error(str(exc))
    return JsonResponse({"errors": services.workflow_validate(tenant=request.tenant, spec=spec)})


def editor_redirect(request, slug: str):
    return redirect("workflow_editor", slug=slug)
