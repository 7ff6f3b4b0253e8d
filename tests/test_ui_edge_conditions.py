"""The editor's branch conditions through Django's test client: the edge form, the check, the round trip through
save and the editor page, roles and query counts."""

from __future__ import annotations

import json
import re

import pytest
from django_tenants.utils import tenant_context

from tests.workflows_support import node, operator_version_make
from workflows import services
from workflows.selectors import version_get

HOSTILE_FIELD = '<img src=x onerror="alert(1)">'


@pytest.fixture
def echo(db):
    return operator_version_make()


@pytest.fixture
def branchy(tenant_a, echo):
    spec = {
        "nodes": [node("a", {"text": {"value": "hello"}}), node("b", {"text": {"value": "x"}})],
        "edges": [{"source": "a", "target": "b"}],
    }
    with tenant_context(tenant_a):
        return services.workflow_create(name="Branchy", user=None, spec=spec), spec


def test_it_sets_a_condition_from_the_editor_and_it_round_trips_through_save(
    tenant_a, tenant_client, make_user, branchy, django_assert_max_num_queries
):
    workflow, spec = branchy
    client = tenant_client(tenant_a, make_user("cond-editor", tenant=tenant_a, role="editor"))
    base = f"/workflows/{workflow.slug}/editor"
    with django_assert_max_num_queries(8):
        form = client.post(f"{base}/edge-form/", {"spec": json.dumps(spec), "source": "a", "target": "b"})
    assert form.status_code == 200
    body = form.content.decode()
    assert 'data-source="a" data-target="b"' in body
    assert '<option value="length">length (integer)</option>' in body and "text (string)" in body
    assert '<option value="&gt;">' in body and '<option value="truthy">' in body

    with django_assert_max_num_queries(8):
        checked = client.post(
            f"{base}/edge-condition/",
            {"spec": json.dumps(spec), "source": "a", "target": "b", "field": "length", "op": ">", "value": "5"},
        )
    assert checked.status_code == 200, checked.content
    edge = checked.json()["edge"]
    assert edge == {"source": "a", "target": "b", "when": {"field": "length", "op": ">", "value": 5}}

    # What the page does next: keep the edge in its spec and save it.
    spec["edges"] = [edge]
    saved = client.post(f"{base}/save/", {"spec": json.dumps(spec), "base_version": "1"})
    assert saved.json() == {"version": 2}
    with tenant_context(tenant_a):
        assert version_get(workflow=workflow, number=2).spec["edges"] == [edge]
    page = client.get(f"/workflows/{workflow.slug}/edit/").content.decode()
    embedded = re.search(r'<script id="workflow-spec" type="application/json">(.*?)</script>', page, re.S)
    assert json.loads(embedded.group(1))["edges"] == [edge]
    assert "js/edge_conditions.js" in page and f"{base}/edge-condition/" in page
    # The form of a conditional edge shows its condition.
    again = client.post(f"{base}/edge-form/", {"spec": json.dumps(spec), "source": "a", "target": "b"}).content.decode()
    assert '<option value="length" selected>' in again and '<option value="&gt;" selected>' in again
    assert 'name="value" value="5"' in again

    # `in` takes comma-separated items (or a JSON list); an empty op removes the condition.
    for text in ("hi, there", '["hi", "there"]'):
        listed = client.post(
            f"{base}/edge-condition/",
            {"spec": json.dumps(spec), "source": "a", "target": "b", "field": "text", "op": "in", "value": text},
        )
        assert listed.json()["edge"]["when"] == {"field": "text", "op": "in", "value": ["hi", "there"]}, text
    removed = client.post(f"{base}/edge-condition/", {"spec": json.dumps(spec), "source": "a", "target": "b", "op": ""})
    assert removed.json() == {"edge": {"source": "a", "target": "b"}}


def test_it_explains_a_condition_it_refuses(tenant_a, tenant_client, make_user, branchy):
    workflow, spec = branchy
    client = tenant_client(tenant_a, make_user("cond-checker", tenant=tenant_a, role="editor"))
    url = f"/workflows/{workflow.slug}/editor/edge-condition/"

    def check(**data):
        response = client.post(url, {"spec": json.dumps(spec), "source": "a", "target": "b", **data})
        assert response.status_code == 400, response.content
        return response.json()["error"]

    assert check(field="rows", op=">", value="5") == (
        "edge a -> b: condition on 'rows': 'a' has no output field 'rows' (it has: length, text)"
    )
    assert check(field="length", op=">", value="five") == (
        "edge a -> b: condition on 'length': the value 'five' is a string; the field is integer"
    )
    assert check(field="length", op="in", value="1, x") == (
        "edge a -> b: condition on 'length': 'x' in the list is not a integer"
    )
    assert (
        check(field="length", op="~", value="1")
        == "Unknown comparison '~': use one of ==, !=, >, >=, <, <=, in, truthy."
    )
    assert check(field="", op=">", value="1") == "Choose a field of the upstream node's output."
    assert check(source="b", target="a", field="length", op=">", value="1") == (
        "There is no connection b → a in this workflow."
    )
    bad = client.post(url, {"spec": "{oops", "source": "a", "target": "b", "op": ">"})
    assert bad.status_code == 400 and "reload" in bad.json()["error"]


def test_it_keeps_the_form_to_editors_and_escapes_field_names(tenant_a, tenant_client, make_user, branchy):
    workflow, spec = branchy
    base = f"/workflows/{workflow.slug}/editor"
    viewer = tenant_client(tenant_a, make_user("cond-viewer", tenant=tenant_a, role="viewer"))
    data = {"spec": json.dumps(spec), "source": "a", "target": "b", "field": "length", "op": ">", "value": "1"}
    assert viewer.post(f"{base}/edge-form/", data).status_code == 403
    assert viewer.post(f"{base}/edge-condition/", data).status_code == 403

    hostile = operator_version_make(
        name="hostile", output_schema={"type": "object", "properties": {HOSTILE_FIELD: {"type": "integer"}}}
    )
    spec["nodes"][0]["operator"]["name"] = hostile.name
    editor = tenant_client(tenant_a, make_user("cond-escaper", tenant=tenant_a, role="editor"))
    body = editor.post(f"{base}/edge-form/", data | {"spec": json.dumps(spec)}).content.decode()
    assert HOSTILE_FIELD not in body and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
