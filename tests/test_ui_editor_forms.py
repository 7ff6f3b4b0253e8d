"""The editor's node form (issue 12): fields in the model's order, typed widgets for union / any fields, no
phantom list rows, the tenant's datasets offered for file inputs and the columns of the chosen CSV for column
inputs (symlinks planted in the datasets are neither listed nor read); the editor page and the node form in a
bounded number of queries."""

from __future__ import annotations

import json
import shutil
from typing import Any, Literal

import pytest
from django.http import QueryDict
from pydantic import BaseModel, Field

from flowui.forms_jsonschema import field_role, ordered_properties, parse_form, render_form
from flowui_runtime.inspect import with_field_order
from tests.test_ui_portal import chain_spec, editor_user, operators, workflow_factory  # noqa: F401 - fixtures


class Condition(BaseModel):
    column: str
    value: Any = None
    limit: int | str | None = None


class ChartInput(BaseModel):
    dataset_path: str
    chart_type: Literal["line", "bar"] = "line"
    x_column: str = ""
    y_columns: list[str] = Field(default_factory=list)
    title: str = ""
    bins: int = 20
    width_px: int = 900
    conditions: list[Condition] = Field(default_factory=list)


def jsonb_like(schema: dict) -> dict:
    """Key order as PostgreSQL's jsonb gives it back: shorter keys first, then alphabetical."""
    if isinstance(schema, dict):
        return {k: jsonb_like(schema[k]) for k in sorted(schema, key=lambda k: (len(k), k))}
    if isinstance(schema, list):
        return [jsonb_like(v) for v in schema]
    return schema


SCHEMA = jsonb_like(with_field_order(ChartInput.model_json_schema()))


def qd(pairs: list[tuple[str, str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in pairs:
        data.appendlist(key, value)
    return data


def test_it_orders_fields_as_the_model_declares_them_even_after_jsonb():
    assert list(SCHEMA["properties"])[:3] == ["bins", "title", "width_px"]  # what jsonb does to the keys
    assert [name for name, _ in ordered_properties(SCHEMA)] == list(ChartInput.model_fields)
    condition = SCHEMA["$defs"]["Condition"]
    assert [name for name, _ in ordered_properties(condition)] == ["column", "value", "limit"]
    html = str(render_form(SCHEMA))
    positions = [html.index(f'data-field="{name}"') for name in ChartInput.model_fields]
    assert positions == sorted(positions)
    # A hostile or stale x-order (not a list, unknown names, repeats) never hides or duplicates a field.
    for order in ("title", ["nope", "title", "title", 3], None):
        names = [n for n, _ in ordered_properties({**SCHEMA, "x-order": order})]
        assert sorted(names) == sorted(ChartInput.model_fields) and len(names) == len(set(names))


def test_it_gives_union_and_any_fields_a_type_picker_where_text_stays_text():
    html = str(render_form(SCHEMA, inputs={"conditions": {"value": [{"column": "region", "value": None}]}}))
    assert 'name="in.conditions.0.value.type"' in html
    value_picker = html.split('name="in.conditions.0.value.type"')[1].split("</select>")[0]
    assert ["text", "number", "boolean", "json"] == [o.split('"')[1] for o in value_picker.split("<option value=")[1:]]
    limit_picker = html.split('name="in.conditions.0.limit.type"')[1].split("</select>")[0]
    assert "json" not in limit_picker and "number" in limit_picker and "text" in limit_picker  # int | str

    def value_of(pairs):
        inputs, errors = parse_form(SCHEMA, qd([("in.dataset_path", "d.csv"), ("in.conditions.0.column", "c"), *pairs]))
        return inputs.get("conditions", {}).get("value", [{}])[0].get("value", "MISSING"), errors

    assert value_of([("in.conditions.0.value.type", "text"), ("in.conditions.0.value", "West")]) == ("West", {})
    assert value_of([("in.conditions.0.value.type", "text"), ("in.conditions.0.value", '"West"')]) == ('"West"', {})
    assert value_of([("in.conditions.0.value.type", "text"), ("in.conditions.0.value", "[1, 2]")]) == ("[1, 2]", {})
    assert value_of([("in.conditions.0.value.type", "number"), ("in.conditions.0.value", "3.5")]) == (3.5, {})
    assert value_of([("in.conditions.0.value.type", "boolean"), ("in.conditions.0.value", "true")]) == (True, {})
    assert value_of([("in.conditions.0.value.type", "json"), ("in.conditions.0.value.json", '["a", 1]')]) == (
        ["a", 1],
        {},
    )
    # Switching the picker keeps what was typed: text -> JSON makes it a JSON string, JSON -> text unquotes it.
    assert value_of([("in.conditions.0.value.type", "json"), ("in.conditions.0.value", "West")]) == ("West", {})
    assert value_of([("in.conditions.0.value.type", "text"), ("in.conditions.0.value.json", '"West"')]) == ("West", {})
    value, errors = value_of([("in.conditions.0.value.type", "number"), ("in.conditions.0.value", "West")])
    assert value == "MISSING" and errors == {"conditions.0.value": ["Enter a number, or pick Text."]}
    value, errors = value_of([("in.conditions.0.value.type", "json"), ("in.conditions.0.value.json", "{oops")])
    assert errors["conditions.0.value"][0].startswith("Enter valid JSON")
    # A stored text value shows as text, a list as JSON.
    shown = str(render_form(SCHEMA, inputs={"conditions": {"value": [{"column": "c", "value": [1]}]}}))
    assert 'name="in.conditions.0.value.json"' in shown


def test_it_shows_no_phantom_list_rows_and_adds_or_removes_items_on_request():
    html = str(render_form(SCHEMA))
    assert 'name="in.y_columns.0"' not in html and "New item" not in html
    assert 'data-form-action="add:in.y_columns"' in html and 'data-form-action="add:in.conditions"' in html
    asked = str(render_form(SCHEMA, inputs={"y_columns": {"value": ["a"]}}, adding={"in.y_columns"}))
    assert 'name="in.y_columns.0" value="a"' in asked and 'name="in.y_columns.1" value=""' in asked
    assert 'data-form-action="remove:in.y_columns.0"' in asked
    # The empty row left empty is no item; "Remove" leaves the removed item out.
    pairs = [("in.dataset_path", "d.csv"), ("in.y_columns.0", "a"), ("in.y_columns.1", ""), ("in.y_columns.2", "c")]
    inputs, _ = parse_form(SCHEMA, qd(pairs))
    assert inputs["y_columns"] == {"value": ["a", "c"]}
    inputs, _ = parse_form(SCHEMA, qd([*pairs, ("_form_action", "remove:in.y_columns.0")]))
    assert inputs["y_columns"] == {"value": ["c"]}


def test_it_names_field_roles_by_one_rule():
    assert field_role("dataset_path", {"type": "string"}) == "dataset"
    assert field_role("source", {"type": "string", "format": "path"}) == "dataset"
    assert field_role("input_file", {"type": "string"}) == "dataset"
    assert field_role("x_column", {"type": "string"}) == "column"
    assert field_role("columns", {"type": "array"}) == "column"
    assert field_role("label", {"type": "string", "x-flowui": "column"}) == "column"
    assert field_role("title", {"type": "string"}) == "" and field_role("columnist", {}) == ""
    html = str(render_form(SCHEMA, datasets=["dataset/a.csv"], columns=["region", '"><script>']))
    assert '<input type="text" id="f-in-dataset_path" name="in.dataset_path" value="" list="dl-datasets"' in html
    assert 'name="in.x_column" value="" list="dl-columns"' in html
    assert 'name="in.title" value=""' in html and 'name="in.title" value="" list=' not in html
    assert '<option value="&quot;&gt;&lt;script&gt;"></option>' in html and "<script>" not in html


@pytest.fixture
def tenant_datasets(tenant_a, tmp_path):
    from tenants.selectors import tenant_storage_root

    folder = tenant_storage_root(tenant=tenant_a) / "dataset"
    (folder / "editor-picker" / "deeper").mkdir(parents=True, exist_ok=True)
    (folder / "editor-picker" / "sales.csv").write_text("region,month,amount\nWest,2026-01,5\n")
    (folder / "editor-picker" / "deeper" / "notes.txt").write_text("hello")
    secret = tmp_path / "secret.csv"
    secret.write_text("password,token\nx,y\n")
    (folder / "editor-picker" / "link.csv").symlink_to(secret)
    (folder / "editor-picker" / "linked-folder").symlink_to(tmp_path)
    yield folder
    shutil.rmtree(folder / "editor-picker", ignore_errors=True)


def test_it_offers_the_tenants_datasets_and_the_columns_of_the_chosen_csv(tenant_a, tenant_datasets):
    from datasets.picker import dataset_csv_columns, dataset_picker_paths

    paths = dataset_picker_paths(tenant=tenant_a)
    assert "dataset/editor-picker/sales.csv" in paths and "dataset/editor-picker/deeper/notes.txt" in paths
    assert not any("link" in p for p in paths)  # symlinks (to a file, to a folder) are not offered
    assert dataset_csv_columns(tenant=tenant_a, path="dataset/editor-picker/sales.csv") == ["region", "month", "amount"]
    for hostile in (
        "dataset/editor-picker/link.csv",  # a symlink out of the storage: not followed
        "dataset/../dataset/editor-picker/sales.csv",
        "/etc/passwd.csv",
        "dataset/editor-picker/missing.csv",
        "dataset/editor-picker/deeper/notes.txt",  # not a CSV
        "dataset/\x00.csv",
        None,
    ):
        assert dataset_csv_columns(tenant=tenant_a, path=hostile) == [], hostile


def test_it_renders_the_editor_and_the_node_form_in_few_queries(
    tenant_a, tenant_client, tenant_datasets, django_assert_max_num_queries, request
):
    user = request.getfixturevalue("editor_user")
    make_workflow = request.getfixturevalue("workflow_factory")
    request.getfixturevalue("operators")
    spec = chain_spec(100)
    spec["nodes"][1]["inputs"] = {"dataset_path": {"value": "dataset/editor-picker/sales.csv"}}
    workflow = make_workflow("Query count", spec=spec)
    client = tenant_client(tenant_a, user)
    with django_assert_max_num_queries(20):
        page = client.get(f"/workflows/{workflow.slug}/edit/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="version-state"' in text and 'id="editor-deploy-run-button"' in text and "Saved v1" in text
    assert 'id="editor-run-now"' not in text  # nothing deployed yet: nothing to run
    with django_assert_max_num_queries(12):
        form = client.post(f"/workflows/{workflow.slug}/editor/node-form/", {"spec": json.dumps(spec), "node_id": "n1"})
    assert form.status_code == 200
    html = form.content.decode()
    assert '<option value="dataset/editor-picker/sales.csv">' in html
    assert 'list="dl-datasets"' in html
