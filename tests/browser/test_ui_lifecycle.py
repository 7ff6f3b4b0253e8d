"""Workflow lifecycle and small screens in real Chromium: duplicate, pause and delete a workflow from the
portal; every main page at 390 px wide without sideways scrolling (nav collapsed to a menu, the editor's canvas
first); a double click on Start run starts one run in the real Airflow; the run page at 390 px."""

from __future__ import annotations

import uuid

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.timeout(900)
WIDE = {"width": 1440, "height": 900}
OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
SPEC = {"nodes": [], "edges": [], "schedule": "30 6 * * 1-5", "params": [], "tags": []}


@pytest.fixture
def lifecycle_user(live_tenant, django_user_model):
    from tenants.services import membership_set

    tenant, base = live_tenant
    user = django_user_model.objects.create_user("lena", "lena@example.com", "pw")
    membership_set(user=user, tenant=tenant, role="editor")
    return tenant, base


def _workflow(tenant, name: str, spec=None):
    from workflows import services

    with tenant_context(tenant):
        return services.workflow_create(name=name, user=None, spec=spec or SPEC)


def _slugs(tenant) -> set[str]:
    from workflows.selectors import workflows_list

    with tenant_context(tenant):
        return {w.slug for w in workflows_list()}


def test_it_duplicates_pauses_and_deletes_a_workflow_in_the_portal(lifecycle_user, ui_page, artifacts):
    tenant, base = lifecycle_user
    workflow = _workflow(tenant, "Morning report")
    page = ui_page
    log_in(page, base, "lena")
    page.goto(f"{base}/workflows/")
    row = page.locator(f"tr[data-slug={workflow.slug}]")

    row.locator("button[data-action=pause]").click()
    expect(page.locator(".message.success")).to_contain_text("Paused Morning report")
    expect(row.locator(".badge.paused")).to_be_visible()
    with tenant_context(tenant):
        workflow.refresh_from_db()
    assert workflow.paused is True
    page.goto(f"{base}/workflows/{workflow.slug}/settings/")
    expect(page.locator("#paused-badge")).to_be_visible()
    expect(page.locator("#cron-preview .next-runs li")).to_have_count(5)  # the saved schedule's next runs
    page.locator("#lifecycle button[data-action=resume]").click()
    expect(page.locator(".message.success")).to_contain_text("Resumed Morning report")
    expect(page.locator("#paused-badge")).to_have_count(0)

    page.goto(f"{base}/workflows/")
    page.locator(f"tr[data-slug={workflow.slug}] button[data-action=duplicate]").click()
    page.wait_for_url(f"{base}/workflows/{workflow.slug}-copy/settings/")
    expect(page.locator(".message.success")).to_contain_text("not deployed yet")
    expect(page.locator("h1")).to_contain_text("Morning report (copy)")
    assert _slugs(tenant) == {workflow.slug, f"{workflow.slug}-copy"}

    page.locator("#lifecycle a[data-action=delete]").click()
    page.wait_for_url(f"{base}/workflows/{workflow.slug}-copy/delete/")
    expect(page.locator("h1")).to_contain_text("Delete Morning report (copy)?")
    page.click("#confirm-delete")
    page.wait_for_url(f"{base}/workflows/")
    expect(page.locator(".message.success")).to_contain_text("Deleted Morning report (copy)")
    expect(page.locator(f"tr[data-slug={workflow.slug}-copy]")).to_have_count(0)
    assert _slugs(tenant) == {workflow.slug}
    page.screenshot(path=str(artifacts / "lifecycle-list.png"), full_page=True)
    assert not page.problems, page.problems


def _phone_check(page, url: str, artifacts, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert page.evaluate(OVERFLOW), (url, page.evaluate("[document.documentElement.scrollWidth, innerWidth]"))
    page.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=True)


def test_it_fits_every_page_in_390_px_with_the_nav_as_a_menu(lifecycle_user, chromium, artifacts):
    from datasets.services import samples_install
    from registry.models import OperatorVersion, Repository

    tenant, base = lifecycle_user
    samples_install(tenant=tenant)
    repository = Repository.objects.create(slug="phone-ops", name="A repository with a long name", url="file:///x")
    OperatorVersion.objects.create(
        repository=repository,
        name="load_a_csv_file_with_a_rather_long_operator_name",
        version="1.0.0",
        commit="a" * 40,
        tree_hash="b" * 40,
        input_schema={"properties": {"path": {"type": "string"}}, "type": "object"},
        output_schema={"properties": {}, "type": "object"},
        metadata={"description": "Loads a CSV " * 20},
    )
    workflow = _workflow(tenant, "A workflow whose name is long enough to wrap on a phone screen")
    context = chromium.new_context(viewport=PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, base, "lena")
        toggle = page.locator(".nav-toggle")
        expect(toggle).to_be_visible()
        expect(page.locator(".nav a[href='/runs/']")).to_be_hidden()
        toggle.click()
        expect(page.locator(".nav a[href='/runs/']")).to_be_visible()
        assert toggle.get_attribute("aria-expanded") == "true"
        header = page.locator(".topbar").bounding_box()
        toggle.click()
        assert page.locator(".topbar").bounding_box()["height"] < header["height"]  # one row when closed
        for url, name in (
            ("/", "dashboard"),
            ("/workflows/", "workflows"),
            ("/runs/", "runs"),
            (f"/workflows/{workflow.slug}/settings/", "settings"),
            ("/data/", "data"),
            ("/data/samples/", "data-folder"),
            ("/operators/", "catalog"),
            ("/operators/syncs/", "syncs"),
            (f"/workflows/{workflow.slug}/versions/", "versions"),
        ):
            _phone_check(page, base + url, artifacts, name)

        _phone_check(page, f"{base}/workflows/{workflow.slug}/edit/", artifacts, "editor")
        canvas = page.locator("#canvas").bounding_box()
        palette = page.locator(".palette").bounding_box()
        assert canvas["y"] < palette["y"] and canvas["y"] < PHONE["height"] * 0.6, (canvas, palette)  # canvas first
        expect(page.locator(".palette-item").first).to_be_hidden()  # the palette starts collapsed
        page.click(".palette-toggle")
        expect(page.locator(".palette-item").first).to_be_visible()
        assert page.evaluate(OVERFLOW)
    finally:
        context.close()


def test_it_starts_one_run_on_a_double_click_and_fits_the_run_page_in_390_px(
    airflow, lifecycle_user, git_repo, chromium, artifacts
):
    from registry.services import repository_create, repository_sync_now
    from tests.workflows_support import echo_repo_files, node
    from workflows import services
    from workflows.supervision import runs_list

    tenant, base = lifecycle_user
    path, _ = git_repo(echo_repo_files(), name="echo-phone")
    repository = repository_create(slug="echo-phone", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    spec = {
        "nodes": [
            node("first_step_with_a_long_name", {"text": {"value": "x" * 200}}, repository="echo-phone"),
            node("second_step", {"text": {"value": "y"}}, repository="echo-phone"),
        ],
        "edges": [{"source": "first_step_with_a_long_name", "target": "second_step"}],
    }
    # A new slug each time: Airflow's home outlives the session, and a DAG left behind keeps its runs.
    workflow = _workflow(tenant, f"Echo twice {uuid.uuid4().hex[:6]}", spec)
    with tenant_context(tenant):
        services.workflow_deploy(tenant=tenant, workflow=workflow, user=None)
        assert services.workflow_deploy_wait(tenant=tenant, workflow=workflow, timeout_s=180) == "live"

    context = chromium.new_context(viewport=DESKTOP)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        log_in(page, base, "lena")
        page.goto(f"{base}/workflows/{workflow.slug}/run/")
        page.dblclick("#start-run")
        page.wait_for_url(f"{base}/workflows/{workflow.slug}/runs/**")
        run_id = page.url.rstrip("/").split("/")[-1]
        page.wait_for_timeout(1500)  # a second request, had one been sent, would have started by now
        with tenant_context(tenant):
            runs = runs_list(tenant=tenant, workflow=workflow, limit=10)["results"]
        assert [r["run_id"] for r in runs] == [run_id], runs

        with tenant_context(tenant):
            from tests.workflows_support import wait_for
            from workflows.supervision import run_get

            wait_for(
                lambda: run_get(tenant=tenant, workflow=workflow, run_id=run_id)["state"] in ("success", "failed"),
                timeout_s=240,
                interval_s=1,
                what="the run to end",
            )
        page.set_viewport_size(WIDE)
        page.goto(f"{base}/")
        table = page.locator(".span-all .table-wrap")
        expect(table).to_contain_text("Echo twice")
        # Not clipped at 1440 px: the recent runs table fits its card, nothing hidden to the right.
        assert table.evaluate("e => e.scrollWidth <= e.clientWidth"), table.evaluate(
            "e => [e.scrollWidth, e.clientWidth]"
        )
        page.set_viewport_size(PHONE)
        for url, name in (
            (f"/workflows/{workflow.slug}/runs/{run_id}/", "run"),
            ("/runs/", "runs-with-one"),
            ("/", "dashboard-with-run"),
        ):
            _phone_check(page, base + url, artifacts, name)
    finally:
        context.close()
