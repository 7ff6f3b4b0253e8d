"""The one graph module (flowui_runtime.graph, re-exported by workflows.graph): pure functions, no database."""

from __future__ import annotations

import pytest

from flowui_runtime import graph as runtime_graph
from workflows import graph
from workflows.spec import parse_spec

#   a -> b -> d -> e
#   a -> c -> d
DIAMOND = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")]


def test_it_is_one_copy_shared_with_the_runtime():
    for name in ("ancestors", "descendants", "cycle_nodes", "topological_order", "upstream", "creates_cycle"):
        assert getattr(graph, name) is getattr(runtime_graph, name)


def test_it_walks_ancestors_and_descendants_nearest_first():
    assert graph.ancestors(DIAMOND, "e") == ["d", "b", "c", "a"]
    assert graph.ancestors(DIAMOND, "a") == []
    assert graph.descendants(DIAMOND, "a") == ["b", "c", "d", "e"]
    assert graph.descendants(DIAMOND, "e") == []
    assert graph.ancestors(DIAMOND, "unknown") == [] and graph.descendants(DIAMOND, "unknown") == []
    assert graph.all_ancestors(["a", "d"], DIAMOND) == {"a": set(), "d": {"a", "b", "c"}}
    assert graph.upstream(DIAMOND, "d") == ["b", "c"] and graph.upstream(DIAMOND + [("b", "d")], "d") == ["b", "c"]
    assert graph.reaches(DIAMOND, "b", "e") and not graph.reaches(DIAMOND, "b", "c")


def test_it_orders_topologically_and_reports_cycles():
    order = graph.topological_order(["e", "d", "c", "b", "a", "lonely"], DIAMOND)
    assert sorted(order) == ["a", "b", "c", "d", "e", "lonely"]
    for source, target in DIAMOND:
        assert order.index(source) < order.index(target)
    assert graph.cycle_nodes(["a", "b", "c", "d", "e"], DIAMOND) == []

    cyclic = DIAMOND + [("e", "b"), ("x", "x")]
    # b, d, e loop; x loops on itself; c (before the loop) can be ordered, nothing behind the loop remains.
    assert graph.cycle_nodes(["a", "b", "c", "d", "e", "x"], cyclic) == ["b", "d", "e", "x"]
    with pytest.raises(graph.CycleError) as error:
        graph.topological_order(["a"], cyclic)
    assert error.value.nodes == ["b", "d", "e", "x"] and "cycle through: b, d, e, x" in str(error.value)


def test_it_tells_whether_a_new_edge_would_close_a_loop():
    assert graph.creates_cycle(DIAMOND, "e", "a") and graph.creates_cycle(DIAMOND, "d", "b")
    assert graph.creates_cycle(DIAMOND, "c", "c")
    assert not graph.creates_cycle(DIAMOND, "b", "c") and not graph.creates_cycle(DIAMOND, "a", "e")


def test_it_reads_edges_from_a_spec_model_and_from_the_editors_raw_dict():
    raw = {"edges": [{"source": "a", "target": "b"}, "junk", {"source": 1, "target": "c"}]}
    assert graph.edges_of(raw) == [("a", "b"), ("1", "c")]
    assert graph.edges_of({"edges": "not a list"}) == [] and graph.edges_of({}) == []
    spec = parse_spec(
        {
            "nodes": [
                {"id": "a", "operator": {"repository": "r", "name": "n", "version": "1"}},
                {"id": "b", "operator": {"repository": "r", "name": "n", "version": "1"}},
                {
                    "id": "c",
                    "operator": {"repository": "r", "name": "n", "version": "1"},
                    "inputs": {"x": {"from": "a", "field": "y"}},
                },
            ],
            "edges": [{"source": "b", "target": "c", "when": {"field": "ok", "op": "truthy"}}],
        }
    )
    assert graph.edges_of(spec) == [("b", "c")]
    assert graph.upstream_of(spec, "c") == ["a", "b"]  # an input binding is a dependency too
