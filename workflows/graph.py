"""The workflow graph on the spec: `flowui_runtime.graph`'s pure functions (one copy, shared with the runtime's
DAG builder) plus the adapters from a spec (a `WorkflowSpec` or the editor's raw dict) to edge pairs."""

from __future__ import annotations

from typing import Any

from flowui_runtime.contracts import UpstreamInput
from flowui_runtime.graph import (
    CycleError,
    Edge,
    all_ancestors,
    ancestors,
    children_of,
    creates_cycle,
    cycle_nodes,
    descendants,
    parents_of,
    reaches,
    topological_order,
    upstream,
)
from workflows.spec import WorkflowSpec

__all__ = [
    "CycleError",
    "Edge",
    "all_ancestors",
    "ancestors",
    "children_of",
    "creates_cycle",
    "cycle_nodes",
    "descendants",
    "edges_of",
    "parents_of",
    "reaches",
    "topological_order",
    "upstream",
    "upstream_of",
]


def edges_of(spec: WorkflowSpec | dict[str, Any]) -> list[Edge]:
    """The spec's edges as (source, target) pairs; in a raw dict spec (the editor's), entries that are not
    objects are ignored and ids are read as text."""
    if isinstance(spec, WorkflowSpec):
        return [(edge.source, edge.target) for edge in spec.edges]
    edges = spec.get("edges") if isinstance(spec, dict) else None
    return [
        (str(edge.get("source")), str(edge.get("target")))
        for edge in (edges if isinstance(edges, list) else [])
        if isinstance(edge, dict)
    ]


def upstream_of(spec: WorkflowSpec, node_id: str) -> list[str]:
    """What `node_id` depends on in Airflow: the sources of its edges and the nodes its inputs are bound to,
    sorted."""
    sources = set(upstream(edges_of(spec), node_id))
    node = spec.node(node_id)
    if node is not None:
        sources |= {b.from_node for b in node.inputs.values() if isinstance(b, UpstreamInput)}
    return sorted(sources)
