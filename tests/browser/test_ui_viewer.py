"""A viewer in real Chromium: sees workflows, the canvas and node forms, but cannot edit or run (no buttons,
and the endpoints refuse when called anyway). Pages hold at 1280x800 and 390x844."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from tests.browser.conftest import DESKTOP, PHONE, log_in, no_horizontal_overflow

pytestmark = pytest.mark.timeout(300)

SCHEMA = {
    "properties": {
        "path": {"type": "string", "description": "CSV file."},
        "limit": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100},
    },
    "required": ["path"],
    "type": "object",
}
OUTPUT = {"properties": {"dataset_path": {"type": "string"}}, "type": "object"}


@pytest.fixture
def viewer_setup(live_tenant, django_user_model):
    from registry.models import OperatorVersion, Repository
    from tenants.services import membership_set
    from workflows import services

    tenant, base = live_tenant
    repository = Repository.objects.create(slug="ui-browser-ops", name="Browser ops", url="file:///nowhere")
    for name, colour in (("load_csv", "#2f6fed"), ("describe", "#c62828")):
        OperatorVersion.objects.create(
            repository=repository,
            name=name,
            version="1.0.0",
            commit="a" * 40,
            tree_hash=name[0] * 40,
            input_schema=SCHEMA,
            output_schema=OUTPUT,
            metadata={"style": {"label": name, "colour": colour}},
        )
    viewer = django_user_model.objects.create_user("vicky", "vicky@example.com", "pw")
    membership_set(user=viewer, tenant=tenant, role="viewer")
    operator = {"repository": "ui-browser-ops", "version": "1.0.0"}
    spec = {
        "nodes": [
            {
                "id": "load",
                "label": "Load",
                "operator": {**operator, "name": "load_csv"},
                "position": {"x": 40, "y": 60},
                "inputs": {"path": {"value": "dataset/a.csv"}},
            },
            {
                "id": "describe",
                "label": "Describe",
                "operator": {**operator, "name": "describe"},
                "position": {"x": 320, "y": 60},
                "inputs": {"path": {"from": "load", "field": "dataset_path"}},
            },
        ],
        "edges": [{"source": "load", "target": "describe"}],
    }
    with tenant_context(tenant):
        workflow = services.workflow_create(name="Viewer sees this", user=None, spec=spec)
    return base, workflow


def test_it_lets_a_viewer_look_but_not_edit_or_run(viewer_setup, ui_page, artifacts):
    base, workflow = viewer_setup
    page = ui_page
    log_in(page, base, "vicky")
    assert page.locator("text=Viewer sees this").first.is_visible()
    assert page.locator("a:has-text('New workflow')").count() == 0

    page.goto(f"{base}/workflows/{workflow.slug}/edit/")
    page.wait_for_selector(".drawflow-node")
    assert page.locator(".drawflow-node").count() == 2
    assert page.locator(".drawflow .connection").count() == 1
    for absent in ("[data-action=save]", ".palette", "#deploy-button", "#run-button"):
        assert page.locator(absent).count() == 0, absent
    page.locator(".drawflow-node[data-node-id=describe]").click()
    page.wait_for_selector("#node-form")
    assert page.locator("#node-form [name=label]").is_disabled()
    assert page.locator("button:has-text('Delete node')").count() == 0
    page.screenshot(path=str(artifacts / "viewer-editor-1280x800.png"))

    # The endpoints refuse even when called directly with a valid session and CSRF token.
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    headers = {"X-CSRFToken": token, "Referer": f"{base}/"}
    spec = json.dumps(workflow.current_version.spec)
    for url, form in [
        (f"/workflows/{workflow.slug}/editor/save/", {"spec": spec, "base_version": "1"}),
        (f"/workflows/{workflow.slug}/editor/add-node/", {"operator": "1"}),
        (f"/workflows/{workflow.slug}/deploy/", {}),
        (f"/workflows/{workflow.slug}/run/", {}),
    ]:
        status = page.evaluate(
            """([url, form, headers]) => fetch(url, {method: "POST", headers, credentials: "same-origin",
                                                     body: new URLSearchParams(form)}).then((r) => r.status)""",
            [url, form, headers],
        )
        assert status == 403, (url, status)
    run_page = page.goto(f"{base}/workflows/{workflow.slug}/run/")
    assert run_page.status == 200 and page.locator("#start-run").count() == 0

    # Phone size: the pages reflow, nothing sticks out sideways.
    page.set_viewport_size(PHONE)
    for path, name in (
        ("/", "dashboard"),
        (f"/workflows/{workflow.slug}/edit/", "editor"),
        ("/workflows/", "list"),
        (f"/workflows/{workflow.slug}/versions/", "versions"),
    ):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(artifacts / f"viewer-{name}-390x844.png"), full_page=True)
        assert no_horizontal_overflow(page), path
    page.set_viewport_size(DESKTOP)
    page.goto(base + "/")
    assert no_horizontal_overflow(page)

    # Keyboard focus is visible: tabbing to a link draws the focus outline.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    assert page.problems == []
