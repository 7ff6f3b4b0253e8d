"""The editor's forgiving actions in real Chromium (no Airflow): palette search hides what does not match, Ctrl+Z
undoes a delete (the node and its connections come back) and Ctrl+Shift+Z redoes it, duplicate, fit to view, a
node dropped at the canvas edge keeps its handle visible, and the node form of a filter: fields in the model's
order, the tenant's datasets offered for the file input, the CSV's columns for the column fields, no phantom
list row, and `West` typed as a condition value saved as the text "West"."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect
from pydantic import BaseModel, Field

from flowui_runtime.inspect import with_field_order
from tests.browser.conftest import log_in
from tests.browser.conftest import node_form_update as _update

pytestmark = pytest.mark.timeout(300)


class Condition(BaseModel):
    column: str = Field(min_length=1)
    op: Literal["==", "!=", ">"] = "=="
    value: Any = Field(default=None, description="A number, a text, or a list for 'in'.")


class FilterInput(BaseModel):
    dataset_path: str = Field(min_length=1, description="CSV dataset to filter.")
    conditions: list[Condition] = Field(default_factory=list)
    combine: Literal["all", "any"] = "all"
    columns: list[str] = Field(default_factory=list)
    output_name: str = "filtered.csv"


class FilterOutput(BaseModel):
    dataset_path: str
    rows_out: int


class LoadInput(BaseModel):
    source: str = Field(min_length=1)


@pytest.fixture
def actions_setup(live_tenant, django_user_model):
    from datasets.services import samples_install
    from registry.models import OperatorVersion, Repository
    from tenants.services import membership_set

    tenant, base = live_tenant
    samples_install(tenant=tenant)
    repository = Repository.objects.create(slug="ui-actions-ops", name="Actions ops", url="file:///nowhere")
    for name, model, output in (("load_csv", LoadInput, FilterOutput), ("filter_rows", FilterInput, FilterOutput)):
        OperatorVersion.objects.create(
            repository=repository,
            name=name,
            version="1.0.0",
            commit="b" * 40,
            tree_hash=name[0] * 40,
            input_schema=with_field_order(model.model_json_schema()),
            output_schema=output.model_json_schema(),
            metadata={},
        )
    user = django_user_model.objects.create_user("ursula", "ursula@example.com", "pw")
    membership_set(user=user, tenant=tenant, role="editor")
    return tenant, base


def _open_new_workflow(page, base, name):
    log_in(page, base, "ursula")
    page.goto(f"{base}/workflows/new/")
    page.fill("#id_name", name)
    page.click("button:has-text('Create and open the editor')")
    page.wait_for_selector("#canvas .drawflow")
    return page.url.rstrip("/").split("/")[-2]


def _saved_spec(tenant, slug):
    from workflows.models import Workflow

    with tenant_context(tenant):
        return Workflow.objects.get(slug=slug).current_version.spec


def test_it_searches_the_palette_undoes_a_delete_and_duplicates(actions_setup, ui_page, artifacts):
    tenant, base = actions_setup
    page = ui_page
    slug = _open_new_workflow(page, base, "Undo test")

    # Palette search: what does not match is really hidden, and comes back when the search is cleared.
    load_item, filter_item = (
        page.locator(".palette-item[data-name=load_csv]"),
        page.locator(".palette-item[data-name=filter_rows]"),
    )
    page.fill("#palette-search", "filt")
    expect(load_item).to_be_hidden()
    expect(filter_item).to_be_visible()
    page.fill("#palette-search", "no such operator")
    expect(filter_item).to_be_hidden()
    expect(page.locator(".palette-group:has(.palette-item[data-name=filter_rows])")).to_be_hidden()
    page.fill("#palette-search", "")
    expect(load_item).to_be_visible()

    canvas = page.locator("#canvas")
    load_item.drag_to(canvas, target_position={"x": 2, "y": 2})  # at the very edge
    filter_item.drag_to(canvas, target_position={"x": 420, "y": 200})
    expect(page.locator(".drawflow-node")).to_have_count(2)
    # The dropped node is moved off the edge: its input handle is inside the canvas.
    handle = page.locator(".drawflow-node[data-node-id=load_csv_1] .input_1").bounding_box()
    box = canvas.bounding_box()
    assert handle["x"] >= box["x"] and handle["y"] >= box["y"], (handle, box)
    expect(page.locator(".drawflow-node[data-node-id=filter_rows_1] .fnode-label")).to_have_text("Filter rows")
    expect(page.locator(".drawflow-node[data-node-id=filter_rows_1] .fnode-id")).to_have_text("filter_rows_1")

    out = page.locator(".drawflow-node[data-node-id=load_csv_1] .output_1").bounding_box()
    into = page.locator(".drawflow-node[data-node-id=filter_rows_1] .input_1").bounding_box()
    page.mouse.move(out["x"] + out["width"] / 2, out["y"] + out["height"] / 2)
    page.mouse.down()
    page.mouse.move(into["x"] + into["width"] / 2, into["y"] + into["height"] / 2, steps=12)
    page.mouse.up()
    expect(page.locator("#editor-status")).to_contain_text("Connected load_csv_1 → filter_rows_1")

    # Delete the filter with the Delete key, then Ctrl+Z: the node and its connection come back.
    page.locator(".drawflow-node[data-node-id=filter_rows_1] .fnode-label").click()
    page.keyboard.press("Delete")
    expect(page.locator(".drawflow-node")).to_have_count(1)
    expect(page.locator(".drawflow .connection")).to_have_count(0)
    page.locator("#canvas").focus()
    page.keyboard.press("Control+z")
    expect(page.locator(".drawflow-node[data-node-id=filter_rows_1]")).to_have_count(1)
    expect(page.locator(".drawflow .connection")).to_have_count(1)
    page.keyboard.press("Control+Shift+z")  # redo: deleted again
    expect(page.locator(".drawflow-node")).to_have_count(1)
    page.click("[data-action=undo]")  # the button does the same
    expect(page.locator(".drawflow-node")).to_have_count(2)
    expect(page.locator(".drawflow .connection")).to_have_count(1)

    # Duplicate (Ctrl+D): a copy with a free id, next to the original.
    page.locator(".drawflow-node[data-node-id=filter_rows_1] .fnode-label").click()
    expect(page.locator(".node-form[data-node=filter_rows_1]")).to_be_visible()
    page.locator("#canvas").focus()
    page.keyboard.press("Control+d")
    expect(page.locator(".drawflow-node[data-node-id=filter_rows_2]")).to_have_count(1)
    page.click("[data-action=fit]")
    for node in page.locator(".drawflow-node").all():
        b = node.bounding_box()
        assert box["x"] <= b["x"] and b["x"] + b["width"] <= box["x"] + box["width"] + 1, (b, box)
    page.screenshot(path=str(artifacts / "editor-actions-1280x800.png"))

    page.click("[data-action=save]")
    expect(page.locator("#editor-status")).to_contain_text("Saved version", timeout=20_000)
    expect(page.locator("#version-state")).to_contain_text("not live")
    spec = _saved_spec(tenant, slug)
    assert {n["id"] for n in spec["nodes"]} == {"load_csv_1", "filter_rows_1", "filter_rows_2"}
    assert [(e["source"], e["target"]) for e in spec["edges"]] == [("load_csv_1", "filter_rows_1")]
    assert all(n["position"]["x"] >= 20 and n["position"]["y"] >= 20 for n in spec["nodes"])
    assert page.problems == []


def test_it_fills_a_filter_with_datasets_columns_and_a_text_value(actions_setup, ui_page, artifacts):
    tenant, base = actions_setup
    page = ui_page
    slug = _open_new_workflow(page, base, "Filter form")
    page.locator(".palette-item[data-name=filter_rows] .palette-add").click()  # adds and selects the node
    expect(page.locator(".node-form[data-node=filter_rows_1]")).to_be_visible()
    page.wait_for_function("() => !document.querySelector('.htmx-request')")  # the form's request is over

    # Fields in the model's declaration order (not jsonb's), no phantom list rows.
    fields = page.locator("#node-form [data-field]").evaluate_all("(els) => els.map((e) => e.dataset.field)")
    assert fields == ["dataset_path", "conditions", "combine", "columns", "output_name"], fields
    expect(page.locator("#node-form .field.item")).to_have_count(0)

    # The file input offers the tenant's datasets; choosing a CSV offers its columns.
    datasets = page.locator("#dl-datasets option").evaluate_all("(os) => os.map((o) => o.value)")
    assert "dataset/samples/sales.csv" in datasets, datasets
    expect(page.locator("#f-in-dataset_path")).to_have_attribute("list", "dl-datasets")
    _update(page, lambda: (page.fill("#f-in-dataset_path", "dataset/samples/sales.csv"), page.keyboard.press("Tab")))
    columns = page.locator("#dl-columns option").evaluate_all("(os) => os.map((o) => o.value)")
    assert columns == ["region", "month", "product", "amount"], columns

    # A condition: its value typed as West is the text "West" (no JSON quotes needed, nothing wiped).
    _update(page, lambda: page.click("[data-form-action='add:in.conditions']"))
    expect(page.locator("#f-in-conditions-0-column")).to_have_attribute("list", "dl-columns")
    _update(page, lambda: (page.fill("#f-in-conditions-0-column", "region"), page.keyboard.press("Tab")))
    expect(page.locator("select[name='in.conditions.0.value.type']")).to_have_value("text")
    _update(page, lambda: (page.fill("#f-in-conditions-0-value", "West"), page.keyboard.press("Tab")))
    expect(page.locator("#f-in-conditions-0-value")).to_have_value("West")
    expect(page.locator("#node-form .errorlist")).to_have_count(0)
    page.screenshot(path=str(artifacts / "editor-filter-form-1280x800.png"))

    page.click("[data-action=save]")
    expect(page.locator("#editor-status")).to_contain_text("Saved version", timeout=20_000)
    node = _saved_spec(tenant, slug)["nodes"][0]
    assert node["inputs"]["conditions"] == {"value": [{"column": "region", "op": "==", "value": "West"}]}
    assert node["inputs"]["dataset_path"] == {"value": "dataset/samples/sales.csv"}
    assert page.problems == []
