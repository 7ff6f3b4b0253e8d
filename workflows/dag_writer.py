"""Writes a workflow version as an Airflow DAG file: data, never code.

The file is three statements: import the runtime's `build_dag`, `SPEC = json.loads(<one string literal>)`,
`dag = build_dag(SPEC)`. Every user value (names, labels, inputs, params, tags) travels inside the JSON text,
and that text is embedded with `repr()` of a `str`, which is always a plain string literal. Nothing a user
types can become code, and the file is byte-identical for the same version (sorted keys, ASCII only).
Parsing cost is one `json.loads` plus the DAG construction a hand-written file would do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flowui_runtime.contracts import BranchCondition, DagSpec, ParamSpec, Resources, TaskSpec
from flowui_runtime.safefs import atomic_write
from registry.selectors import operator_ref
from tenants.selectors import tenant_storage_root
from workflows import graph
from workflows.models import Workflow, WorkflowVersion
from workflows.selectors import operator_versions_for_nodes, workflow_dag_file, workflow_dag_id
from workflows.spec import parse_spec

# Airflow's safe-mode heuristic skips a file unless it contains both "airflow" and "dag".
_TEMPLATE = '''\
"""FlowUI generated airflow DAG file for workflow {slug} (version {number}).

Written by FlowUI on deploy: do not edit, the next deploy replaces it. SPEC is data (a JSON text).
"""
import json

from flowui_runtime.dag import build_dag

SPEC = json.loads({spec_literal})

dag = build_dag(SPEC)
'''


class DagWriteError(Exception):
    """The version cannot be turned into a DAG (e.g. an operator vanished from the registry)."""


def dag_spec_build(*, tenant, workflow: Workflow, version: WorkflowVersion) -> DagSpec:
    """The runtime's DagSpec for a version: the spec's nodes with what the registry knows of each operator."""
    spec = parse_spec(version.spec)
    tasks = []
    operator_versions = operator_versions_for_nodes(tenant=tenant, nodes=spec.nodes)
    for node in spec.nodes:
        operator_version = operator_versions[node.id]
        if operator_version is None:
            pin = node.operator
            raise DagWriteError(
                f"node {node.id!r}: operator {pin.repository}/{pin.name}@{pin.version} is unknown or not synced"
            )
        metadata = operator_version.metadata or {}
        resources = metadata.get("resources") or {}
        group = operator_version.dependency_group
        tasks.append(
            TaskSpec(
                task_id=node.id,
                label=node.label,
                operator=operator_ref(operator_version),
                inputs=node.inputs,
                execution_mode=node.execution_mode,
                retries=node.retries,
                timeout_s=node.timeout_s,
                resources=Resources(**{k: v for k, v in resources.items() if k in Resources.model_fields}),
                dependency_group=operator_version.dependency_group_name or "default",
                image=operator_version.image or (group.image if group is not None else ""),
                secrets=sorted(metadata.get("secrets") or []),
                network=bool(metadata.get("network", False)),
                upstream=graph.upstream_of(spec, node.id),
                conditions=[
                    BranchCondition(source=edge.source, when=edge.when)
                    for edge in spec.edges
                    if edge.target == node.id and edge.when is not None
                ],
                dependency_hash=group.requirements_hash if group is not None else "",
            )
        )
    return DagSpec(
        dag_id=workflow_dag_id(tenant=tenant, workflow=workflow),
        tenant=tenant.schema_name,
        workflow_version=version.number,
        description=(workflow.description or workflow.name)[:1000],
        schedule=spec.schedule,
        start_date=spec.start_date,
        tags=sorted(set(spec.tags)),
        params=[ParamSpec.model_validate(p.model_dump()) for p in spec.params],
        storage_root=str(tenant_storage_root(tenant=tenant)),
        tasks=tasks,
    )


def dag_file_source(*, dag_spec: DagSpec, slug: str) -> str:
    data: dict[str, Any] = dag_spec.model_dump(mode="json", by_alias=True)
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    # The slug is [a-z0-9_-] (a SlugField); check anyway, it is the one value outside SPEC.
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in slug):
        raise DagWriteError(f"slug {slug!r} is not a plain slug")
    return _TEMPLATE.format(slug=slug, number=dag_spec.workflow_version, spec_literal=repr(text))


def dag_file_write(*, tenant, workflow: Workflow, version: WorkflowVersion) -> Path:
    dag_spec = dag_spec_build(tenant=tenant, workflow=workflow, version=version)
    path = workflow_dag_file(tenant=tenant, workflow=workflow)
    source = dag_file_source(dag_spec=dag_spec, slug=workflow.slug)
    if path.exists() and path.read_text(encoding="ascii", errors="replace") == source:
        # Same bytes: touch it so Airflow re-parses (e.g. after an import error in the runtime was fixed).
        os.utime(path)
        return path
    atomic_write(path, source, encoding="ascii")
    return path


def dag_file_remove(*, tenant, workflow: Workflow) -> bool:
    path = workflow_dag_file(tenant=tenant, workflow=workflow)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
