"""Reads about workflows: lists, versions, diffs, the operator versions a spec pins, DAG ids and paths.

Supervision reads (runs, task instances, logs, results) are in `workflows.supervision` and
`workflows.results`; this module re-exports them so callers (API, portal) have one place to look.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet

from flowui.pagination import CompiledPages
from flowui.sql_select import ModelColumns, fetch_one
from registry.selectors import operator_versions_for_pins
from tenants.selectors import tenant_dag_id_prefix, tenant_dags_folder
from workflows.models import NotificationDelivery, NotificationSettings, Webhook, Workflow, WorkflowVersion


class WorkflowNotFound(Exception):
    pass


# --- workflows --------------------------------------------------------------------------------
def workflows_list(*, search: str = "", deploy_state: str = "") -> QuerySet[Workflow]:
    """Workflows of the current tenant schema, optionally filtered by name/slug text and deploy state. The
    current and deployed versions are not loaded, only their numbers, annotated as `current_version_number` and
    `deployed_version_number` (lists show those; `workflow_get` has the versions)."""
    queryset = Workflow.objects.annotate(
        current_version_number=F("current_version__number"), deployed_version_number=F("deployed_version__number")
    )
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    if deploy_state:
        queryset = queryset.filter(deploy_state=deploy_state)
    return queryset.order_by("name", "id")


@cache
def _workflow_lookup() -> tuple[
    str, ModelColumns[Workflow], ModelColumns[WorkflowVersion], ModelColumns[WorkflowVersion]
]:
    workflow, current, deployed = (
        ModelColumns(Workflow, "w"),
        ModelColumns(WorkflowVersion, "c"),
        ModelColumns(WorkflowVersion, "d"),
    )
    quote = connection.ops.quote_name
    versions = quote(WorkflowVersion._meta.db_table)
    # Only model metadata (tables, columns) is formatted in; values are parameters.
    sql = (
        f"SELECT {workflow.sql}, {current.sql}, {deployed.sql} FROM {quote(Workflow._meta.db_table)} w"  # noqa: S608
        f" LEFT JOIN {versions} c ON c.id = w.current_version_id"
        f" LEFT JOIN {versions} d ON d.id = w.deployed_version_id"
        " WHERE w.slug = %s"
    )
    return sql, workflow, current, deployed


# The unfiltered list's pages (every API list call without filters): its SQL compiled once per process.
workflows_all_pages = CompiledPages(workflows_list)


def workflow_get(*, slug: str) -> Workflow:
    """The workflow of the current tenant schema with its current and deployed versions loaded (one query, written
    once as SQL: every API call on a workflow starts here; flowui.sql_select)."""
    sql, workflow_columns, current_columns, deployed_columns = _workflow_lookup()
    row = fetch_one(sql, [slug])
    if row is None:
        raise WorkflowNotFound(f"No workflow {slug!r} in this tenant.")
    workflow = workflow_columns.load(row)
    at = workflow_columns.width
    workflow.current_version = current_columns.load_nullable(row, at)
    workflow.deployed_version = deployed_columns.load_nullable(row, at + current_columns.width)
    return workflow


def workflow_dag_id(*, tenant, workflow: Workflow) -> str:
    """The only way a DAG id is made: derived from the workflow, never taken from a client."""
    return f"{tenant_dag_id_prefix(tenant=tenant)}{workflow.slug}"


def workflow_dag_file(*, tenant, workflow: Workflow) -> Path:
    return tenant_dags_folder(tenant=tenant) / f"{workflow_dag_id(tenant=tenant, workflow=workflow)}.py"


# --- versions ---------------------------------------------------------------------------------
def versions_list(*, workflow: Workflow) -> QuerySet[WorkflowVersion]:
    return WorkflowVersion.objects.filter(workflow=workflow).order_by("-number")


def version_get(*, workflow: Workflow, number: int) -> WorkflowVersion:
    version = WorkflowVersion.objects.filter(workflow=workflow, number=number).first()
    if version is None:
        raise WorkflowNotFound(f"Workflow {workflow.slug!r} has no version {number}.")
    return version


def run_version_get(*, workflow: Workflow, number: int | None) -> tuple[WorkflowVersion | None, bool]:
    """The version a run used, and whether the run said so: runs triggered through FlowUI record their
    version (supervision.VERSION_CONF_KEY); for others (scheduled runs) the deployed version, then the
    current one, stand in (known False)."""
    if number is not None:
        version = WorkflowVersion.objects.filter(workflow=workflow, number=number).first()
        if version is not None:
            return version, True
    return workflow.deployed_version or workflow.current_version, False


def _node_map(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = spec.get("nodes") if isinstance(spec, dict) else None
    return {n["id"]: n for n in nodes or [] if isinstance(n, dict) and isinstance(n.get("id"), str)}


def _edge_map(spec: dict[str, Any]) -> dict[tuple[Any, Any], Any]:  # the spec as saved: not checked yet
    """(source, target) -> the edge's branch condition (None for a plain edge)."""
    edges = spec.get("edges") if isinstance(spec, dict) else None
    return {(e.get("source"), e.get("target")): e.get("when") for e in edges or [] if isinstance(e, dict)}


def versions_diff(*, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed between two specs: nodes added/removed/changed (with their input and setting changes),
    edges added/removed/changed (a branch condition), and the workflow-level settings (schedule, start date, tags, params) that differ."""
    old_nodes, new_nodes = _node_map(old), _node_map(new)
    changed = []
    for node_id in sorted(old_nodes.keys() & new_nodes.keys()):
        before, after = old_nodes[node_id], new_nodes[node_id]
        in_before, in_after = before.get("inputs") or {}, after.get("inputs") or {}
        inputs = {
            "added": sorted(in_after.keys() - in_before.keys()),
            "removed": sorted(in_before.keys() - in_after.keys()),
            "changed": sorted(k for k in in_before.keys() & in_after.keys() if in_before[k] != in_after[k]),
        }
        settings_changed = sorted(
            key
            for key in (before.keys() | after.keys()) - {"id", "inputs", "position"}
            if before.get(key) != after.get(key)
        )
        if any(inputs.values()) or settings_changed:
            changed.append({"id": node_id, "inputs": inputs, "settings": settings_changed})
    old_edges, new_edges = _edge_map(old), _edge_map(new)
    workflow_changed = sorted(
        key for key in ("schedule", "start_date", "tags", "params") if (old or {}).get(key) != (new or {}).get(key)
    )
    return {
        "nodes": {
            "added": sorted(new_nodes.keys() - old_nodes.keys()),
            "removed": sorted(old_nodes.keys() - new_nodes.keys()),
            "changed": changed,
        },
        "edges": {
            "added": [{"source": s, "target": t} for s, t in sorted(new_edges.keys() - old_edges.keys(), key=str)],
            "removed": [{"source": s, "target": t} for s, t in sorted(old_edges.keys() - new_edges.keys(), key=str)],
            # edges in both versions whose branch condition changed (set, removed or edited)
            "changed": [
                {"source": s, "target": t}
                for s, t in sorted(old_edges.keys() & new_edges.keys(), key=str)
                if old_edges[(s, t)] != new_edges[(s, t)]
            ],
        },
        "workflow": workflow_changed,
    }


# --- the registry (public schema) -------------------------------------------------------------
def operator_versions_for_nodes(*, tenant, nodes) -> dict[str, Any]:
    """{node id: OperatorVersion or None} for a spec's nodes, in one query whatever the node count."""
    found = operator_versions_for_pins(
        tenant=tenant, pins=[(n.operator.repository, n.operator.name, n.operator.version) for n in nodes]
    )
    return {n.id: found.get((n.operator.repository, n.operator.name, n.operator.version)) for n in nodes}


def webhooks_list(*, workflow: Workflow):
    return Webhook.objects.filter(workflow=workflow).order_by("-created_at")


def webhook_active_get(*, webhook_id) -> Any:
    """The enabled webhook with this id (with its workflow), or None: a disabled or deleted hook is unknown."""
    return Webhook.objects.select_related("workflow").filter(pk=webhook_id, enabled=True).first()


# --- notifications ----------------------------------------------------------------------------
def notification_settings_get(*, workflow: Workflow):
    """The workflow's NotificationSettings, or None when none were saved."""
    return NotificationSettings.objects.filter(workflow=workflow).first()


def notification_settings_active():
    """Settings of deployed workflows that notify about something, with their workflow (one query)."""
    return (
        NotificationSettings.objects.select_related("workflow")
        .filter(workflow__deployed_version__isnull=False)
        .exclude(emails="", webhook_url_encrypted="")
        .order_by("id")
    )


def notification_deliveries_for_run(*, workflow: Workflow, run_id: str) -> list:
    return list(NotificationDelivery.objects.filter(workflow=workflow, run_id=run_id).order_by("created_at", "id"))


def workflow_audit_target(workflow: Workflow) -> dict[str, Any]:
    """The audit log's object fields for a workflow."""
    return {"object_type": "workflow", "object_id": workflow.slug, "object_repr": workflow.name}
