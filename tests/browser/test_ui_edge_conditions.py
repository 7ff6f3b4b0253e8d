"""Branch conditions on the canvas in real Chromium: click an edge, set a condition, see its label, save, reload;
remove it again. Also the run graph's style for skipped tasks."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.test_ui_editor import editor_setup  # noqa: F401 - the fixture, shared

pytestmark = pytest.mark.timeout(300)


def _spec() -> dict:
    operator = {"repository": "ui-editor-ops", "version": "1.0.0"}
    return {
        "nodes": [
            {"id": "load_1", "operator": {**operator, "name": "load"}, "position": {"x": 40, "y": 60},
             "inputs": {"source": {"value": "dataset/a.csv"}}},
            {"id": "chart_1", "operator": {**operator, "name": "chart"}, "position": {"x": 420, "y": 260},
             "inputs": {"dataset_path": {"from": "load_1", "field": "dataset_path"}, "y_columns": {"value": ["a"]}}},
        ],
        "edges": [{"source": "load_1", "target": "chart_1"}],
    }  # fmt: skip


def test_it_sets_shows_saves_and_removes_a_condition_on_an_edge(editor_setup, ui_page, artifacts):  # noqa: F811
    from workflows import services
    from workflows.models import Workflow

    tenant, base = editor_setup
    with tenant_context(tenant):
        workflow = services.workflow_create(name="Branch canvas", user=None, spec=_spec())
    page = ui_page
    log_in(page, base, "edna")
    page.goto(f"{base}/workflows/{workflow.slug}/edit/")
    page.wait_for_selector("#canvas .drawflow .connection .main-path")

    page.locator(".drawflow .connection .main-path").click()
    form = page.locator(".edge-form[data-source=load_1][data-target=chart_1]")
    expect(form).to_be_visible()
    fields = page.locator("#edge-field option").all_inner_texts()
    assert fields == ["dataset_path (string)", "row_count (integer)"]
    page.select_option("#edge-field", "row_count")
    page.select_option("#edge-op", ">")
    page.fill("#edge-value", "lots")
    page.click("#edge-condition-form button[type=submit]")
    expect(page.locator("#edge-errors")).to_contain_text("the value 'lots' is a string; the field is integer")
    expect(page.locator("text.edge-condition")).to_have_count(0)

    page.fill("#edge-value", "5")
    page.click("#edge-condition-form button[type=submit]")
    label = page.locator(".drawflow .connection.conditional text.edge-condition")
    expect(label).to_have_text("row_count > 5")
    expect(page.locator("#dirty-status")).to_have_text("Unsaved changes")
    page.screenshot(path=str(artifacts / "editor-edge-condition-1280x800.png"))

    # The label follows the edge when a node moves.
    before = label.bounding_box()
    node = page.locator(".drawflow-node[data-node-id=chart_1] .fnode-label").bounding_box()
    page.mouse.move(node["x"] + 10, node["y"] + 5)
    page.mouse.down()
    page.mouse.move(node["x"] + 10, node["y"] + 125, steps=8)
    page.mouse.up()
    page.wait_for_timeout(200)
    assert label.bounding_box()["y"] > before["y"] + 20

    page.click("[data-action=save]")
    expect(page.locator("#editor-status")).to_contain_text("Saved version 2", timeout=20_000)
    with tenant_context(tenant):
        spec = Workflow.objects.get(slug=workflow.slug).current_version.spec
    assert spec["edges"] == [
        {"source": "load_1", "target": "chart_1", "when": {"field": "row_count", "op": ">", "value": 5}}
    ]

    page.reload()
    expect(page.locator("text.edge-condition")).to_have_text("row_count > 5")
    page.locator(".drawflow .connection .main-path").click()
    expect(page.locator("#edge-op")).to_have_value(">")
    expect(page.locator("#edge-value")).to_have_value("5")
    page.click("[data-edge-action=remove]")
    expect(page.locator("text.edge-condition")).to_have_count(0)
    page.click("[data-action=save]")
    expect(page.locator("#editor-status")).to_contain_text("Saved version 3", timeout=20_000)
    with tenant_context(tenant):
        spec = Workflow.objects.get(slug=workflow.slug).current_version.spec
    assert spec["edges"] == [{"source": "load_1", "target": "chart_1"}]
    assert page.problems == []
