"""The one graph module of a workflow: pure functions on (source, target) edge pairs.

Used by the platform (`workflows.graph` re-exports these for specs: validation, DAG writer, editor) and by the
runtime's DAG builder, so it imports nothing from Django or Airflow. Edges are any iterable of
`(source, target)` pairs; node ids are strings. Unknown ids are simply nodes without edges.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable

Edge = tuple[str, str]


class CycleError(ValueError):
    """The edges form a cycle; `nodes` are those that cannot be ordered (on or behind a cycle), sorted."""

    def __init__(self, nodes: list[str]):
        super().__init__(f"The edges form a cycle through: {', '.join(nodes)}.")
        self.nodes = nodes


def parents_of(edges: Iterable[Edge]) -> dict[str, list[str]]:
    """target -> its direct sources, in edge order, each once (self-loops kept: cycle detection reports them)."""
    parents: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        if source not in parents[target]:
            parents[target].append(source)
    return dict(parents)


def children_of(edges: Iterable[Edge]) -> dict[str, list[str]]:
    """source -> its direct targets, in edge order, each once."""
    return parents_of((target, source) for source, target in edges)


def upstream(edges: Iterable[Edge], node_id: str) -> list[str]:
    """The direct sources of `node_id`, sorted."""
    return sorted(parents_of(edges).get(node_id, []))


def _walk(neighbours: dict[str, list[str]], start: str) -> list[str]:
    order: list[str] = []
    seen = {start}
    frontier = deque([start])
    while frontier:
        for neighbour in neighbours.get(frontier.popleft(), []):
            if neighbour not in seen:
                seen.add(neighbour)
                order.append(neighbour)
                frontier.append(neighbour)
    return order


def ancestors(edges: Iterable[Edge], node_id: str) -> list[str]:
    """Every node upstream of `node_id` (transitively), nearest first; never `node_id` itself."""
    return _walk(parents_of(edges), node_id)


def descendants(edges: Iterable[Edge], node_id: str) -> list[str]:
    """Every node downstream of `node_id` (transitively), nearest first; never `node_id` itself."""
    return _walk(children_of(edges), node_id)


def all_ancestors(nodes: Iterable[str], edges: Iterable[Edge]) -> dict[str, set[str]]:
    """node -> the set of its ancestors, for every node of `nodes`."""
    parents = parents_of(edges)
    return {node_id: set(_walk(parents, node_id)) for node_id in nodes}


def reaches(edges: Iterable[Edge], start: str, goal: str) -> bool:
    """Is there a path (of one edge or more) from `start` to `goal`?"""
    return goal in descendants(edges, start)


def creates_cycle(edges: Iterable[Edge], source: str, target: str) -> bool:
    """Would adding source -> target close a loop (a self-loop, or source reachable from target)?"""
    return source == target or reaches(edges, target, source)


def _kahn(nodes: Iterable[str], edges: Iterable[Edge]) -> tuple[list[str], list[str]]:
    node_list = list(dict.fromkeys(nodes))
    children = children_of(edges)
    indegree = dict.fromkeys(node_list, 0)
    for source, targets in children.items():
        indegree.setdefault(source, 0)
        for target in targets:
            indegree[target] = indegree.get(target, 0) + 1
    ready = deque(n for n, d in indegree.items() if d == 0)
    order: list[str] = []
    while ready:
        current = ready.popleft()
        order.append(current)
        for child in children.get(current, []):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    stuck = sorted(n for n, d in indegree.items() if d > 0)
    return order, stuck


def cycle_nodes(nodes: Iterable[str], edges: Iterable[Edge]) -> list[str]:
    """The nodes that cannot be ordered (on or behind a cycle), sorted; empty when the graph is acyclic."""
    return _kahn(nodes, edges)[1]


def topological_order(nodes: Iterable[str], edges: Iterable[Edge]) -> list[str]:
    """Every node (those of `nodes` first, in their order where the edges allow it) with each node after all
    its ancestors; raises CycleError when the edges form a cycle."""
    order, stuck = _kahn(nodes, edges)
    if stuck:
        raise CycleError(stuck)
    return order
