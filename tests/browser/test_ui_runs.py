"""The run page in real Chromium against the real Airflow: a failed run at phone width (390 px) does not
scroll sideways and its Retry buttons are on screen; times show the exact time on hover; a task's log opens
with its group markers as collapsible sections and no host path; the notification sent is listed."""

from __future__ import annotations

import json
import uuid

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, log_in, no_horizontal_overflow
from tests.test_runs_airflow import _spec
from tests.test_workflows_airflow import api, deploy_until_live, post, run_until_done
from tests.workflows_support import echo_repo_files

pytestmark = pytest.mark.timeout(900)


def test_it_shows_a_failed_run_that_fits_a_phone(airflow, live_tenant, git_repo, django_user_model, ui_page, artifacts):
    from registry.services import repository_create, repository_sync_now
    from tenants.services import membership_set

    tenant, base = live_tenant
    path, _ = git_repo(echo_repo_files(), name="echo-runs")
    sync = repository_sync_now(repository=repository_create(slug="echo-runs", name="Echo", url=f"file://{path}"))
    assert sync.state == "done", sync.error
    user = django_user_model.objects.create_user("rita", "rita@example.com", "pw")
    membership_set(user=user, tenant=tenant, role="editor")
    client = api(tenant, user)
    created = post(
        client, "/api/workflows/", {"name": f"Phone {uuid.uuid4().hex[:6]}", "spec": _spec(extra_node=False)}
    )
    slug = created.json()["slug"]
    deploy_until_live(client, slug)
    failed = run_until_done(client, slug, params={"times": 0})
    assert failed["state"] == "failed", failed

    page = ui_page
    page.set_viewport_size(PHONE)
    log_in(page, base, "rita")
    page.goto(f"{base}/workflows/{slug}/runs/{failed['run_id']}/")
    expect(page.locator("#run-state")).to_have_text("failed")
    assert no_horizontal_overflow(page)
    retry = page.locator("[data-action=retry-task]").first
    expect(retry).to_be_visible()
    box = retry.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page.locator("[data-action=retry-failed]").count() == 1
    assert page.locator("[data-action=cancel]").count() == 0
    started = page.locator("#run-live time").first
    # Human time with the exact ISO time on hover ("just now" within the first seconds, then "N s ago").
    assert started.get_attribute("title").startswith("20")
    assert "ago" in started.inner_text() or started.inner_text() == "just now"
    assert "Graph and tasks of version 1" in page.locator("#run-version").inner_text()

    page.click("[data-task-link=a]")
    page.wait_for_url("**?task=a")
    log = page.locator("#task-log .log")
    expect(log).not_to_have_text("(no log lines)", timeout=30_000)
    text = log.inner_text()
    assert str(django_settings.BASE_DIR) not in text and "::group::" not in text, text[:2000]
    groups = page.locator("#task-log details.log-group")
    if groups.count():
        first = groups.first
        opened = first.evaluate("(d) => d.open")
        first.locator("summary").click()
        assert first.evaluate("(d) => d.open") is (not opened)
    page.screenshot(path=str(artifacts / "run-failed-390x844.png"), full_page=True)
    assert no_horizontal_overflow(page)
    assert page.problems == [], json.dumps(page.problems)
