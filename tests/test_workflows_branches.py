"""Conditional branches without Airflow's scheduler: the spec, validation, the DAG file, the runtime's decision,
the DAG Airflow builds (in Airflow's interpreter)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from flowui_runtime import branches, contracts
from tests.workflows_support import node, operator_version_make
from workflows import services
from workflows.dag_writer import dag_spec_build
from workflows.selectors import version_get, versions_diff
from workflows.spec import has_errors

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_PYTHON = REPO / ".airflow-venv" / "bin" / "python"


def branch_spec(**when) -> dict:
    """a -> (when) b, a -> (length <= 5) c, b and c -> d."""
    return {
        "nodes": [
            node("a", {"text": {"value": "hello"}}),
            node("b", {"text": {"from": "a", "field": "text"}}),
            node("c", {"text": {"value": "short"}}),
            node("d", {"text": {"value": "join"}}),
        ],
        "edges": [
            {"source": "a", "target": "b", "when": when or {"field": "length", "op": ">", "value": 5}},
            {"source": "a", "target": "c", "when": {"field": "length", "op": "<=", "value": 5}},
            {"source": "b", "target": "d"},
            {"source": "c", "target": "d"},
        ],
    }


@pytest.fixture
def echo(db):
    return operator_version_make()


def _edge_errors(tenant, spec) -> list[str]:
    with tenant_context(tenant):
        errors = services.workflow_validate(tenant=tenant, spec=spec)
    return errors["nodes"].get("b", {}).get("edges", []) + errors["workflow"]


def test_it_validates_conditions_against_the_upstream_output_schema(tenant_a, echo):
    with tenant_context(tenant_a):
        assert not has_errors(services.workflow_validate(tenant=tenant_a, spec=branch_spec()))
    for when in (
        {"field": "text", "op": "==", "value": "hello"},
        {"field": "text", "op": "in", "value": ["hello", "hi"]},
        {"field": "length", "op": ">=", "value": 2.5},  # an integer field compares with a number
        {"field": "text", "op": "truthy"},
        {"field": "text", "op": "<", "value": "m"},
    ):
        assert _edge_errors(tenant_a, branch_spec(**when)) == [], when

    cases = {
        "unknown field": (
            {"field": "rows", "op": ">", "value": 5},
            "edge a -> b: condition on 'rows': 'a' has no output field 'rows' (it has: length, text)",
        ),
        "wrong value type": (
            {"field": "length", "op": ">", "value": "five"},
            "edge a -> b: condition on 'length': the value 'five' is a string; the field is integer",
        ),
        "in needs a list": (
            {"field": "length", "op": "in", "value": 5},
            "edge a -> b: condition on 'length': op 'in' needs a non-empty list of values, e.g. [1, 2]",
        ),
        "wrong item type": (
            {"field": "length", "op": "in", "value": [1, "2"]},
            "edge a -> b: condition on 'length': '2' in the list is not a integer",
        ),
        "truthy takes no value": (
            {"field": "text", "op": "truthy", "value": 1},
            "edge a -> b: condition on 'text': op 'truthy' takes no value",
        ),
        "ordering needs a value": (
            {"field": "length", "op": ">"},
            "edge a -> b: condition on 'length': op '>' needs a value",
        ),
    }
    for name, (when, message) in cases.items():
        assert _edge_errors(tenant_a, branch_spec(**when)) == [message], name


def test_it_refuses_a_malformed_condition_naming_the_edge(tenant_a, echo):
    for when, expected in (
        ({"field": "length", "op": "~", "value": 1}, "edge 'a' -> 'b': when.op: Input should be '=='"),
        ({"op": ">", "value": 1}, "edge 'a' -> 'b': when.field: Field required"),
        ({"field": "length", "op": ">", "value": 1, "x": 2}, "edge 'a' -> 'b': when.x: Extra inputs"),
    ):
        messages = _edge_errors(tenant_a, branch_spec(**when))
        assert len(messages) == 1 and messages[0].startswith(expected), messages


def test_it_writes_conditions_into_the_dag_spec_and_keeps_plain_edges_plain(tenant_a, make_user, echo):
    editor = make_user("branch-writer", tenant=tenant_a, role="editor")
    with tenant_context(tenant_a):
        workflow = services.workflow_create(name="Branchy", user=editor, spec=branch_spec())
        version = workflow.current_version
        assert version.spec["edges"][0]["when"] == {"field": "length", "op": ">", "value": 5}
        assert version.spec["edges"][2] == {"source": "b", "target": "d"}
        dag_spec = dag_spec_build(tenant=tenant_a, workflow=workflow, version=version)
        edited = branch_spec(field="length", op=">", value=7)
        edited["edges"][1].pop("when")
        services.workflow_save_version(workflow=workflow, spec=edited, base_version=1, user=editor)
        diff = versions_diff(old=version.spec, new=version_get(workflow=workflow, number=2).spec)
    assert diff["edges"] == {
        "added": [],
        "removed": [],
        "changed": [{"source": "a", "target": "b"}, {"source": "a", "target": "c"}],
    }
    tasks = {t.task_id: t for t in dag_spec.tasks}
    assert tasks["a"].conditions == [] and tasks["d"].conditions == []
    assert [(c.source, c.when.op, c.when.value) for c in tasks["b"].conditions] == [("a", ">", 5)]
    assert tasks["d"].upstream == ["b", "c"]
    assert branches.branch_tasks(dag_spec.tasks) == {"b", "c", "d"}


def _task(task_id: str, **extra) -> contracts.TaskSpec:
    operator = {"repository": "r", "name": "echo", "version": "1", "commit": "0" * 40}
    return contracts.TaskSpec(task_id=task_id, operator=operator, **extra)


def test_it_decides_at_run_time_which_tasks_run():
    cond = [{"source": "a", "when": {"field": "n", "op": ">", "value": 5}},
            {"source": "x", "when": {"field": "tag", "op": "in", "value": ["go"]}}]  # fmt: skip
    task = _task("b", upstream=["a", "x"], conditions=cond)
    outputs = {"a": {"n": 9}, "x": {"tag": "stop"}}
    assert branches.skip_reason(task, outputs.get, branch_aware=True) is None  # one condition is enough
    outputs = {"a": {"n": 5}, "x": None}  # x was skipped: its edge does not hold
    reason = branches.skip_reason(task, outputs.get, branch_aware=True)
    assert reason == "no branch condition holds (a.n > 5, x.tag in ['go'])"
    with pytest.raises(branches.ConditionError, match="edge a -> b: the output has no field 'n'"):
        branches.skip_reason(task, {"a": {"m": 1}}.get, branch_aware=True)
    with pytest.raises(branches.ConditionError, match="cannot be compared"):
        branches.skip_reason(task, {"a": {"n": "nine"}}.get, branch_aware=True)
    # A join after a skipped task whose output it needs cannot run; without branches that stays a failure.
    join = _task("d", upstream=["b", "c"], inputs={"text": {"from": "b", "field": "text"}})
    assert "bound to 'b', which was skipped" in branches.skip_reason(join, {"c": {}}.get, branch_aware=True)
    assert branches.skip_reason(join, {"c": {}}.get, branch_aware=False) is None
    truthy = contracts.Condition(field="ok", op="truthy")
    assert branches.condition_holds(truthy, {"ok": [1]}) and not branches.condition_holds(truthy, {"ok": 0})
    for op, expected in (("==", False), ("!=", True), (">=", True), ("<", False), ("<=", False)):
        assert branches.condition_holds(contracts.Condition(field="n", op=op, value=3), {"n": 4}) is expected, op


BUILD = """
import json, sys
from flowui_runtime.dag import build_dag
dag = build_dag(json.loads(sys.argv[1]))
print(json.dumps({t.task_id: [getattr(t.trigger_rule, "value", t.trigger_rule), sorted(t.upstream_task_ids)] for t in dag.tasks}))
"""


def test_it_builds_a_dag_whose_branches_and_joins_have_the_right_trigger_rules(tmp_path):
    operator = {"repository": "r", "name": "echo", "version": "1", "commit": "0" * 40}
    when = {"field": "n", "op": ">", "value": 5}
    tasks = [
        {"task_id": "a", "operator": operator},
        {"task_id": "b", "operator": operator, "upstream": ["a"], "conditions": [{"source": "a", "when": when}]},
        {"task_id": "c", "operator": operator, "upstream": ["a"]},
        {"task_id": "d", "operator": operator, "upstream": ["b", "c"]},
        {"task_id": "e", "operator": operator, "upstream": ["d"]},
    ]
    spec = {
        "dag_id": "acme__br",
        "tenant": "acme",
        "workflow_version": 1,
        "storage_root": str(tmp_path),
        "tasks": tasks,
    }
    completed = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", BUILD, json.dumps(spec)],
        cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    built = json.loads(completed.stdout.strip().splitlines()[-1])
    branch = "none_failed_min_one_success"
    assert built == {
        "a": ["all_success", []],
        "b": [branch, ["a"]],
        "c": ["all_success", ["a"]],  # no condition on its way: unchanged
        "d": [branch, ["b", "c"]],
        "e": [branch, ["d"]],
    }


def test_it_accepts_and_returns_conditions_through_the_api_and_names_a_bad_one(tenant_a, make_user, echo):
    from django.test import Client

    from tenants.services import api_token_create

    _, key = api_token_create(user=make_user("branch-api", tenant=tenant_a, role="editor"), tenant=tenant_a)
    client = Client(HTTP_HOST=f"{tenant_a.schema_name}.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")

    def create(name, spec):
        return client.post("/api/workflows/", json.dumps({"name": name, "spec": spec}), content_type="application/json")

    created = create("Branch api", branch_spec())
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    edges = client.get(f"/api/workflows/{slug}/versions/1/").json()["spec"]["edges"]
    assert edges[1] == {"source": "a", "target": "c", "when": {"field": "length", "op": "<=", "value": 5}}
    checked = client.post(f"/api/workflows/{slug}/validate/", "{}", content_type="application/json").json()
    assert checked["valid"] is True

    bad = create("Branch api bad", branch_spec(field="length", op="between", value=[1, 2]))
    assert bad.status_code == 400
    assert "edge 'a' -> 'b': when.op: Input should be" in json.dumps(bad.json())
    schema = client.get("/api/schema/?format=json").json()
    assert '"truthy"' in json.dumps(schema) and "branch condition" in json.dumps(schema)
