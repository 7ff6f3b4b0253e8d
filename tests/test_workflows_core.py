"""Workflows without Airflow: versions, conflicts, diff/restore, validation errors, the DAG file."""

from __future__ import annotations

import ast
import json

import pytest
from django_tenants.utils import tenant_context

from tests.workflows_support import chain_spec, node, operator_version_make
from workflows import services
from workflows.dag_writer import dag_file_write
from workflows.models import WorkflowVersion
from workflows.selectors import version_get, versions_diff, workflow_dag_file
from workflows.spec import has_errors


@pytest.fixture
def editor(make_user, tenant_a):
    return make_user("wf-editor", tenant=tenant_a, role="editor")


@pytest.fixture
def echo(db):
    return operator_version_make()


def test_it_saves_versions_and_refuses_a_stale_base(tenant_a, editor, echo):
    with tenant_context(tenant_a):
        workflow = services.workflow_create(name="Sales report", user=editor, spec=chain_spec())
        assert workflow.slug == "sales_report" and workflow.current_version.number == 1
        v2 = services.workflow_save_version(workflow=workflow, spec=chain_spec("v2"), base_version=1, user=editor)
        assert v2.number == 2 and v2.author_name == "wf-editor"
        with pytest.raises(services.WorkflowConflict) as conflict:
            services.workflow_save_version(workflow=workflow, spec=chain_spec("lost?"), base_version=1, user=editor)
        assert conflict.value.current_version == 2
        assert WorkflowVersion.objects.filter(workflow=workflow).count() == 2
        with pytest.raises(ValueError):
            v2.message = "rewrite history"
            v2.save()
        # A malformed spec is refused with per-node errors; a merely invalid one is saved.
        with pytest.raises(services.WorkflowInvalid) as invalid:
            services.workflow_save_version(
                workflow=workflow, spec={"nodes": [{"id": "x", "inputs": {"a": 1}}]}, base_version=2, user=editor
            )
        assert "operator" in invalid.value.errors["nodes"]["x"]
        assert "inputs.a" in invalid.value.errors["nodes"]["x"]
        with pytest.raises(services.WorkflowInvalid) as nul:
            services.workflow_save_version(
                workflow=workflow,
                spec={"nodes": [node("x", {"text": {"value": "a\x00b"}})]},
                base_version=2,
                user=editor,
            )
        assert "NUL" in nul.value.errors["workflow"][0]
        v3 = services.workflow_save_version(
            workflow=workflow, spec={"nodes": [node("x", {})]}, base_version=2, user=editor
        )
        assert v3.number == 3


def test_it_diffs_two_versions_and_restores_an_old_one(tenant_a, editor, echo):
    with tenant_context(tenant_a):
        workflow = services.workflow_create(name="Diffs", user=editor, spec=chain_spec())
        changed = chain_spec("changed")
        changed["nodes"] = [n for n in changed["nodes"] if n["id"] != "c"] + [node("d", {"text": {"value": "x"}})]
        changed["nodes"][1]["inputs"]["times"] = {"value": 3}
        changed["edges"] = [{"source": "a", "target": "b"}]
        services.workflow_save_version(workflow=workflow, spec=changed, base_version=1, user=editor)
        diff = versions_diff(
            old=version_get(workflow=workflow, number=1).spec, new=version_get(workflow=workflow, number=2).spec
        )
        assert diff["nodes"]["added"] == ["d"] and diff["nodes"]["removed"] == ["c"]
        by_id = {c["id"]: c for c in diff["nodes"]["changed"]}
        assert by_id["a"]["inputs"]["changed"] == ["text"]
        assert by_id["b"]["inputs"]["added"] == ["times"]
        assert diff["edges"]["removed"] == [{"source": "b", "target": "c"}]
        restored = services.workflow_restore_version(workflow=workflow, number=1, user=editor)
        assert restored.number == 3 and restored.spec == version_get(workflow=workflow, number=1).spec


def test_it_reports_validation_problems_per_node_and_field(tenant_a, editor, echo):
    operator_version_make(
        name="counter",
        input_schema={
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        },
        output_schema={"type": "object", "properties": {"total": {"type": "integer"}}},
    )
    spec = {
        "nodes": [
            node("a", {"text": {"value": 5}}),  # wrong literal type
            node("b", {"times": {"value": 2}}),  # text missing
            node("c", {"text": {"from": "d", "field": "text"}}),  # d is not upstream of c
            node("d", {"text": {"from": "a", "field": "nope"}}),  # no such output field
            node("e", {"n": {"from": "a", "field": "text"}}, name="counter"),  # string -> integer
            node("f", {"text": {"param": "missing"}}),
            node("g", {"text": {"value": "x"}}, name="ghost"),
            node("a", {"text": {"value": "dup"}}),
            node("h", {"text": {"from": "i", "field": "text"}}),
            node("i", {"text": {"from": "h", "field": "text"}}),
            node("j", {"text": {"value": "x"}, "bogus": {"value": 1}}),
        ],
        "edges": [
            {"source": "a", "target": "d"},
            {"source": "a", "target": "e"},
            {"source": "h", "target": "i"},
            {"source": "i", "target": "h"},
        ],
        "schedule": "every day at noon",
    }
    with tenant_context(tenant_a):
        errors = services.workflow_validate(tenant=tenant_a, spec=spec)
    nodes = errors["nodes"]
    assert "5 is not of type 'string'" in nodes["a"]["inputs.text"][0]
    assert "unique" in nodes["a"]["id"][0]
    assert nodes["b"]["inputs.text"] == ["is required"]
    assert "not upstream" in nodes["c"]["inputs.text"][0]
    assert "no output field 'nope'" in nodes["d"]["inputs.text"][0]
    assert "a.text is string; this input needs integer" in nodes["e"]["inputs.n"][0]
    assert "unknown param 'missing'" in nodes["f"]["inputs.text"][0]
    assert "unknown or not synced" in nodes["g"]["operator"][0]
    assert nodes["h"]["edges"] == ["is part of a cycle"] and nodes["i"]["edges"] == ["is part of a cycle"]
    assert "has no input 'bogus'" in nodes["j"]["inputs.bogus"][0]
    assert any("cron" in m for m in errors["workflow"]) and any("cycle" in m for m in errors["workflow"])

    with tenant_context(tenant_a):
        ok = services.workflow_validate(tenant=tenant_a, spec=chain_spec(schedule="*/5 * * * *"))
    assert not has_errors(ok), ok


NASTY = "q'\"''' \"\"\" \\ \\n\n__import__('os').system('touch /tmp/flowui-pwned'){{ ds }} {% x %} Zürich 東京 \u2028"


def test_it_writes_a_deterministic_dag_file_with_values_as_data(tenant_a, editor, echo, tmp_path):
    spec = chain_spec(NASTY)
    spec["nodes"][0]["label"] = NASTY
    spec["tags"] = [NASTY[:50]]
    spec["params"][0]["default"] = NASTY
    spec["params"][0]["description"] = NASTY
    with tenant_context(tenant_a):
        workflow = services.workflow_create(name=NASTY, user=editor, spec=spec, description=NASTY)
        path = dag_file_write(tenant=tenant_a, workflow=workflow, version=workflow.current_version)
        first = path.read_bytes()
        dag_file_write(tenant=tenant_a, workflow=workflow, version=workflow.current_version)
        assert path.read_bytes() == first
        assert path == workflow_dag_file(tenant=tenant_a, workflow=workflow)
    source = first.decode("ascii")
    assert b"airflow" in first.lower() and b"dag" in first.lower()
    tree = ast.parse(source)
    # Only: docstring, `import json`, the runtime import, SPEC = json.loads("<constant>"), dag = build_dag(SPEC).
    kinds = [type(stmt).__name__ for stmt in tree.body]
    assert kinds == ["Expr", "Import", "ImportFrom", "Assign", "Assign"]
    call = tree.body[3].value
    assert isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)
    data = json.loads(call.args[0].value)
    assert data["tasks"][0]["inputs"]["text"] == {"value": NASTY}
    assert data["tasks"][0]["label"] == NASTY
    assert data["description"] == NASTY and data["params"][0]["default"] == NASTY
    assert data["dag_id"] == f"acme__{workflow.slug}" and data["workflow_version"] == 1
    assert data["tasks"][2]["upstream"] == ["b"]
    assert not list(path.parent.glob(".*.tmp"))


def test_it_removes_the_dag_file_when_the_workflow_is_deleted(tenant_a, editor, echo):
    with tenant_context(tenant_a):
        workflow = services.workflow_create(name="Doomed", user=editor, spec=chain_spec())
        path = dag_file_write(tenant=tenant_a, workflow=workflow, version=workflow.current_version)
        assert path.exists()
        services.workflow_delete(tenant=tenant_a, workflow=workflow)
        assert not path.exists()


def _linear_spec(count: int) -> dict:
    nodes = [node("n0", {"text": {"value": "x"}})] + [
        node(f"n{i}", {"text": {"from": f"n{i - 1}", "field": "text"}}) for i in range(1, count)
    ]
    edges = [{"source": f"n{i - 1}", "target": f"n{i}"} for i in range(1, count)]
    return {"nodes": nodes, "edges": edges, "schedule": None, "tags": [], "params": []}


def test_it_validates_with_a_query_count_that_does_not_grow_with_nodes(tenant_a, echo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (3, 60):
        with CaptureQueriesContext(connection) as queries:
            errors = services.workflow_validate(tenant=tenant_a, spec=_linear_spec(size))
        assert not has_errors(errors), errors
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_it_refuses_double_underscores_in_slugs(tenant_a, editor):
    with tenant_context(tenant_a):
        with pytest.raises(services.WorkflowInvalid) as err:
            services.workflow_create(name="Two", user=editor, slug="a__b")
        assert "'__' is not allowed" in err.value.errors["workflow"][0]
        for name in ("a__b", "__a__", "1__2", "x _ _ y", "a-_-b"):
            assert "__" not in services.workflow_create(name=name, user=editor).slug, name


def test_it_restores_missing_dag_files_from_the_deployed_versions_never_from_tenant_storage(tenant_a, editor, echo):
    from django.core.management import call_command
    from django.utils import timezone

    from tenants.selectors import tenant_storage_root
    from workflows.models import Workflow

    with tenant_context(tenant_a):
        workflow = services.workflow_create(name="Restored", user=editor, spec=chain_spec())
        Workflow.objects.filter(pk=workflow.pk).update(
            deployed_version=workflow.current_version, deploy_written_at=timezone.now()
        )
        path = workflow_dag_file(tenant=tenant_a, workflow=workflow)
        path.unlink(missing_ok=True)
    # The old DAG folder in the tenant's storage (writable by tenant code in batch/kubernetes) is not reused.
    old = tenant_storage_root(tenant=tenant_a) / "airflow" / "dags"
    old.mkdir(parents=True, exist_ok=True)
    (old / path.name).write_text("import os  # planted\n")
    call_command("dag_files_restore")
    assert path.exists() and "planted" not in path.read_text()
    assert "build_dag" in path.read_text()
    assert not old.exists()
    call_command("dag_files_restore")  # idempotent
    assert path.exists()
