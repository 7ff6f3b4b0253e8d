"""Browser tests: real headless Chromium (/usr/bin/chromium, through Playwright) against pytest-django's live
server, on tenant domains (http://acme.localhost:<port>/; Chromium resolves *.localhost to loopback).

The live server needs committed data (`transactional_db`), which flushes the public tables after each test;
the fixtures re-create the session tenants and remove the workflows they made in the tenant schema.
Screenshots go to var/test-artifacts/ (gitignored).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import session_tenants_ensure

# Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def ui_page(chromium):
    context = chromium.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.problems = problems
    yield page
    context.close()


@pytest.fixture
def live_tenant(live_server, transactional_db):
    """(tenant, base URL) of acme on the live server; workflows made in the test are removed afterwards."""
    from django_tenants.utils import tenant_context

    tenant, _ = session_tenants_ensure()
    port = live_server.url.rsplit(":", 1)[-1]
    yield tenant, f"http://acme.localhost:{port}"
    tenant, _ = session_tenants_ensure()
    with tenant_context(tenant):
        from workflows.models import Workflow
        from workflows.services import workflow_delete

        for workflow in Workflow.objects.all():
            if workflow.deployed_version_id is None:
                workflow.delete()
                continue
            try:  # also removes its DAG file and the DAG (with its runs) from the test's Airflow
                workflow_delete(tenant=tenant, workflow=workflow)
            except Exception:  # noqa: BLE001 - the rows go anyway; Airflow keeps a stale DAG at worst
                Workflow.objects.filter(pk=workflow.pk).delete()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def log_in(page, base: str, username: str, password: str = "pw") -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def no_horizontal_overflow(page) -> bool:
    """True when the page does not scroll sideways (nothing sticks out of the viewport)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def node_form_update(page, action) -> None:
    """Do something in the editor's node form and wait for the server's answer (the form is re-rendered).

    A node form swapped in by htmx posts on change only once htmx has processed it (its trigger bound); in a
    loaded suite that came after the form was visible, and a change made in between went unsent."""
    page.wait_for_function(
        "() => { const f = document.querySelector('#node-form'); return f && f['htmx-internal-data']; }"
    )
    with page.expect_response(lambda r: "/editor/node-update/" in r.url, timeout=30_000) as answer:
        action()
    assert answer.value.status == 200
    page.wait_for_timeout(150)  # htmx swaps the answer in after the response event
