"""A new editor, in real Chromium, against the real Airflow, registry and runtime: log in -> open the editor ->
drag 3 bundled operators in -> connect them -> fill the forms (an invalid value shows inline, then is fixed)
-> save -> deploy (the badge goes live by itself) -> run -> the graph reaches success -> a log and the chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, no_horizontal_overflow
from tests.browser.conftest import node_form_update as _update

pytestmark = pytest.mark.timeout(1500)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bundled_synced(live_tenant):
    """The bundled operators synced into the registry, with the virtualenvs of the groups used here."""
    from registry.models import DependencyGroup
    from registry.services import dependency_venv_ensure, repository_create, repository_sync_now

    repository = repository_create(slug="flowui-bundled-ui", name="Bundled operators", url=f"file://{REPO}")
    sync = repository_sync_now(repository=repository)
    assert sync.state == "done", sync.error
    for group in DependencyGroup.objects.filter(repository=repository, name__in=["data", "viz"]):
        dependency_venv_ensure(group)  # cached under FLOWUI_VENVS_DIR after the first build
    return repository


def _select_node(page, node_id: str):
    page.locator(f".drawflow-node[data-node-id={node_id}] .fnode-label").click()
    expect(page.locator(f".node-form[data-node={node_id}]")).to_be_visible()
    # The form arrives through htmx: act on it only once no request is in flight (a loaded machine is slow).
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def _connect(page, source: str, target: str):
    out = page.locator(f".drawflow-node[data-node-id={source}] .output_1").bounding_box()
    into = page.locator(f".drawflow-node[data-node-id={target}] .input_1").bounding_box()
    page.mouse.move(out["x"] + out["width"] / 2, out["y"] + out["height"] / 2)
    page.mouse.down()
    page.mouse.move(into["x"] + into["width"] / 2, into["y"] + into["height"] / 2, steps=12)
    page.mouse.up()
    expect(page.locator("#editor-status")).to_contain_text(f"Connected {source} → {target}")


def test_it_builds_deploys_and_runs_a_workflow_in_the_browser(
    airflow, celery_worker, live_tenant, bundled_synced, django_user_model, ui_page, artifacts, tmp_path
):
    from tenants.selectors import tenant_storage_root
    from tenants.services import membership_set

    tenant, base = live_tenant
    dataset = tenant_storage_root(tenant=tenant) / "dataset"
    (dataset / "sales.csv").unlink(missing_ok=True)
    upload = tmp_path / "sales.csv"
    upload.write_text("region,amount\nnorth,5\nsouth,50\neast,20\nwest,35\n")
    newcomer = django_user_model.objects.create_user("nora", "nora@example.com", "pw")
    membership_set(user=newcomer, tenant=tenant, role="editor")
    page = ui_page

    log_in(page, base, "nora")
    # The analyst's own CSV arrives through the Data page's upload (into dataset/), as a user would do it.
    page.goto(f"{base}/data/")
    page.set_input_files("#upload-file", str(upload))
    page.click("#data-upload button[type=submit]")
    page.wait_for_selector("#data-browser .message.success")
    assert (dataset / "sales.csv").read_text() == upload.read_text()
    page.goto(f"{base}/")
    page.click("text=New workflow")
    page.fill("#id_name", "Sales chart")
    page.click("button:has-text('Create and open the editor')")
    page.wait_for_selector("#canvas .drawflow")
    slug = page.url.rstrip("/").split("/")[-2]

    # Drag three operators from the palette onto the canvas.
    canvas = page.locator("#canvas")
    for name, x, y in (("load_dataset", 100, 60), ("filter_rows", 320, 170), ("render_chart", 530, 280)):
        page.locator(f".palette-item[data-name={name}]").drag_to(canvas, target_position={"x": x, "y": y})
        expect(page.locator(f".drawflow-node[data-node-id={name}_1]")).to_be_visible()
    assert page.locator(".drawflow-node").count() == 3

    _connect(page, "load_dataset_1", "filter_rows_1")
    _connect(page, "filter_rows_1", "render_chart_1")
    assert page.locator(".drawflow .connection").count() == 2

    # Forms generated from the operators' JSON Schemas.
    _select_node(page, "load_dataset_1")
    _update(page, lambda: (page.fill("#f-in-source", "dataset/sales.csv"), page.locator("#f-in-source").press("Tab")))
    expect(page.locator("#f-in-source")).to_have_value("dataset/sales.csv")

    _select_node(page, "filter_rows_1")
    _update(page, lambda: page.select_option("select[name='in.dataset_path.mode']", "from"))
    expect(page.locator("#f-in-dataset_path")).to_have_value("load_dataset_1.dataset_path")

    _select_node(page, "render_chart_1")
    _update(page, lambda: page.select_option("select[name='in.dataset_path.mode']", "from"))
    expect(page.locator("#f-in-dataset_path")).to_have_value("filter_rows_1.dataset_path")  # nearest upstream first
    options = page.locator("#f-in-dataset_path option").all_inner_texts()
    assert all("row_count" not in o and "column_names" not in o for o in options), options  # only strings fit
    _update(page, lambda: page.click("[data-form-action='add:in.y_columns']"))  # lists start without a blank row
    _update(page, lambda: (page.fill("#f-in-y_columns-0", "amount"), page.locator("#f-in-y_columns-0").press("Tab")))
    _update(page, lambda: page.select_option("#f-in-chart_type", "bar"))
    _update(page, lambda: (page.fill("#f-in-bins", "900"), page.locator("#f-in-bins").press("Tab")))
    error = page.locator(".field.invalid[data-field=bins] .errorlist")
    expect(error).to_contain_text("Must be at most 500.")
    expect(page.locator(".drawflow-node.invalid[data-node-id=render_chart_1]")).to_have_count(1)
    page.screenshot(path=str(artifacts / "editor-invalid-1280x800.png"))
    _update(page, lambda: (page.fill("#f-in-bins", "30"), page.locator("#f-in-bins").press("Tab")))
    expect(page.locator(".field.invalid[data-field=bins]")).to_have_count(0)
    expect(page.locator(".drawflow-node.invalid")).to_have_count(0)

    page.click("[data-action=layout]")
    page.click("[data-action=save]")
    expect(page.locator("#editor-status")).to_contain_text("Saved version 2", timeout=20_000)
    expect(page.locator("#editor-status")).to_contain_text("Ready to deploy", timeout=20_000)
    page.screenshot(path=str(artifacts / "editor-1280x800.png"))
    assert no_horizontal_overflow(page)

    # Deploy and run: the badge is pending, turns live by itself (it polls every second), then the run starts
    # (no run parameter: no params page) and the run page opens.
    expect(page.locator("#version-state")).to_have_text("Saved v2 · not live")
    page.click("#editor-deploy-run-button")
    expect(page.locator("#deploy-badge .badge")).to_have_attribute("data-state", "live", timeout=240_000)
    page.wait_for_url(f"{base}/workflows/{slug}/runs/**", timeout=60_000)
    expect(page.locator("#run-state")).to_have_text("success", timeout=600_000)
    states = page.locator(".gnode").evaluate_all("(nodes) => nodes.map((n) => n.dataset.state)")
    assert states == ["success", "success", "success"], states
    assert page.locator("#run-live[hx-trigger]").count() == 0  # polling stopped at the terminal state
    page.screenshot(path=str(artifacts / "run-1280x800.png"), full_page=True)

    # A task's log and the chart it produced.
    page.click("[data-task-link=render_chart_1]")
    expect(page.locator("#task-log .log")).not_to_have_text("(no log lines yet)", timeout=30_000)
    chart = page.locator("img.result-image").first
    expect(chart).to_be_visible(timeout=30_000)
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 100", arg=chart.element_handle())
    frame = page.locator("iframe.result-html")
    assert frame.get_attribute("sandbox") is not None
    page.screenshot(path=str(artifacts / "run-results-1280x800.png"), full_page=True)
    run_url = page.url
    run_id = run_url.split("/runs/")[1].split("/")[0]

    # The runs list (filtered) and the dashboard know about the run.
    page.goto(f"{base}/runs/?state=success")
    expect(page.locator(f"#run-rows a[href$='/runs/{run_id}/']")).to_be_visible()
    page.goto(f"{base}/runs/?state=failed")
    expect(page.locator("#run-rows")).to_contain_text("No runs.")
    page.goto(f"{base}/")
    expect(page.locator("tr:has-text('Sales chart') .badge.success").first).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(run_url)
    expect(page.locator("#task-log .log")).to_be_visible()
    expect(page.locator("img.result-image").first).to_be_visible()
    page.screenshot(path=str(artifacts / "run-390x844.png"), full_page=True)
    assert no_horizontal_overflow(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    # Back in the editor: saved and live agree, and Run now starts a run in one click.
    page.goto(f"{base}/workflows/{slug}/edit/")
    expect(page.locator("#version-state")).to_have_text("Saved v2 · live v2")
    page.click("#editor-run-now")
    page.wait_for_url(f"{base}/workflows/{slug}/runs/**")
    assert run_id not in page.url  # a second run, started without the params page
    assert page.problems == [], json.dumps(page.problems)
