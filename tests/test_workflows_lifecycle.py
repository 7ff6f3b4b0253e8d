"""Workflow lifecycle in the portal (pause, duplicate, delete) and schedules (next fire times, the
"redeploy to apply" note), through Django's test client; the query counts of the list pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context

from workflows.schedules import next_fire_times, schedule_changes

NOW = datetime(2026, 3, 4, 10, 17, 30, tzinfo=UTC)  # a Wednesday


def test_it_gives_the_next_five_fire_times_of_a_cron_expression():
    result = next_fire_times(schedule="*/15 * * * *", start_date="2024-01-01T00:00:00+00:00", now=NOW)
    assert result["kind"] == "cron" and "15 minutes" in result["text"]
    assert [t.strftime("%H:%M") for t in result["times"]] == ["10:30", "10:45", "11:00", "11:15", "11:30"]


def test_it_handles_presets_a_future_start_date_and_continuous():
    daily = next_fire_times(schedule="@daily", start_date="2024-01-01T00:00:00+00:00", now=NOW)
    assert [t.isoformat() for t in daily["times"][:2]] == ["2026-03-05T00:00:00+00:00", "2026-03-06T00:00:00+00:00"]
    weekly = next_fire_times(schedule="@weekly", now=NOW)
    assert weekly["times"][0].strftime("%a %d") == "Sun 08"
    later = next_fire_times(schedule="0 6 * * *", start_date="2026-06-01T06:00:00+00:00", now=NOW)
    assert later["times"][0].isoformat() == "2026-06-01T06:00:00+00:00"  # a fire time equal to the start counts
    assert len(later["times"]) == 5
    assert next_fire_times(schedule="@continuous", now=NOW) == {
        "kind": "continuous",
        "text": "continuously",
        "times": [],
    }
    assert next_fire_times(schedule=None, now=NOW)["kind"] == "manual"
    once = next_fire_times(schedule="@once", start_date="2026-04-01T00:00:00+00:00", now=NOW)
    assert [t.isoformat() for t in once["times"]] == ["2026-04-01T00:00:00+00:00"]
    assert next_fire_times(schedule="@once", start_date="2020-01-01T00:00:00", now=NOW)["times"] == []
    bad = next_fire_times(schedule="every day", now=NOW)
    assert bad["kind"] == "invalid" and "not a cron expression" in bad["text"] and bad["times"] == []


def test_it_names_the_schedule_settings_saved_but_not_deployed():
    deployed = {"schedule": "@daily", "start_date": "2024-01-01T00:00:00+00:00", "params": [], "tags": []}
    assert schedule_changes(saved=deployed, deployed=deployed) == []
    assert schedule_changes(saved={**deployed, "schedule": "@hourly", "tags": ["x"]}, deployed=deployed) == [
        "schedule",
        "tags",
    ]
    assert schedule_changes(saved=deployed, deployed=None) == []  # nothing deployed: nothing to redeploy


@pytest.fixture
def editor(tenant_a, make_user):
    return make_user("lifecycle-editor", tenant=tenant_a, role="editor")


def _create(tenant, name="Daily sales", spec=None, user=None):
    from workflows import services

    with tenant_context(tenant):
        return services.workflow_create(name=name, user=user, spec=spec)


def test_it_pauses_and_resumes_a_workflow_shown_in_the_list(tenant_a, tenant_client, editor):
    workflow = _create(tenant_a)
    client = tenant_client(tenant_a, editor)
    response = client.post(f"/workflows/{workflow.slug}/pause/", {"paused": "1", "next": "/workflows/"})
    assert response.status_code == 302 and response["Location"] == "/workflows/"
    with tenant_context(tenant_a):
        workflow.refresh_from_db()
    assert workflow.paused is True
    page = client.get("/workflows/").content.decode()
    assert 'data-paused="true"' in page and 'data-action="resume"' in page
    htmx = client.post(
        f"/workflows/{workflow.slug}/pause/", {"paused": "0", "next": "//evil.example/"}, HTTP_HX_REQUEST="true"
    )
    assert htmx.status_code == 200 and htmx["HX-Redirect"] == "/workflows/"  # never an off-site target
    with tenant_context(tenant_a):
        workflow.refresh_from_db()
    assert workflow.paused is False


def test_it_duplicates_the_latest_saved_version_under_a_copy_slug(tenant_a, tenant_client, editor):
    from workflows import services

    workflow = _create(tenant_a, spec={"nodes": [], "edges": [], "schedule": "@daily", "tags": ["a"]})
    with tenant_context(tenant_a):
        services.workflow_save_version(
            workflow=workflow, spec={"nodes": [], "edges": [], "schedule": "@hourly"}, base_version=1, user=None
        )
    client = tenant_client(tenant_a, editor)
    response = client.post(f"/workflows/{workflow.slug}/duplicate/")
    assert response.status_code == 302 and response["Location"] == f"/workflows/{workflow.slug}-copy/settings/"
    again = client.post(f"/workflows/{workflow.slug}/duplicate/")
    assert again["Location"] == f"/workflows/{workflow.slug}-copy-2/settings/"
    with tenant_context(tenant_a):
        from workflows.selectors import workflow_get

        copy = workflow_get(slug=f"{workflow.slug}-copy")
    assert copy.name == "Daily sales (copy)" and copy.current_version.number == 1
    assert copy.current_version.spec["schedule"] == "@hourly"  # the latest saved version, not the first
    assert copy.deployed_version_id is None and copy.deploy_state == "not_deployed"


def test_it_deletes_a_workflow_only_after_the_confirmation_page(tenant_a, tenant_client, editor, make_user):
    workflow = _create(tenant_a)
    viewer = make_user("lifecycle-viewer", tenant=tenant_a, role="viewer")
    assert tenant_client(tenant_a, viewer).post(f"/workflows/{workflow.slug}/delete/").status_code == 403
    client = tenant_client(tenant_a, editor)
    confirm = client.get(f"/workflows/{workflow.slug}/delete/")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    unconfirmed = client.post(f"/workflows/{workflow.slug}/delete/")
    assert unconfirmed.status_code == 302 and unconfirmed["Location"].endswith("/delete/")
    deleted = client.post(f"/workflows/{workflow.slug}/delete/", {"confirm": workflow.slug})
    assert deleted.status_code == 302 and deleted["Location"] == "/workflows/"
    with tenant_context(tenant_a):
        from workflows.models import Workflow

        assert not Workflow.objects.filter(pk=workflow.pk).exists()
    assert client.get(f"/workflows/{workflow.slug}/delete/").status_code == 404


def test_it_shows_next_runs_and_says_to_redeploy_changed_settings(tenant_a, tenant_client, editor):
    from workflows import services
    from workflows.models import DeployState, Workflow

    spec = {"nodes": [], "edges": [], "schedule": "30 6 * * 1-5", "start_date": "2024-01-01T00:00:00+00:00"}
    workflow = _create(tenant_a, spec=spec)
    client = tenant_client(tenant_a, editor)
    page = client.get(f"/workflows/{workflow.slug}/settings/").content.decode()
    assert page.count("<li><time datetime=") == 5 and "06:30 UTC" in page
    assert "redeploy-note" not in page  # never deployed: nothing to redeploy
    with tenant_context(tenant_a):
        Workflow.objects.filter(pk=workflow.pk).update(
            deployed_version=workflow.current_version, deploy_state=DeployState.LIVE
        )
    page = client.get(f"/workflows/{workflow.slug}/settings/").content.decode()
    assert "redeploy-note" not in page and "Next run" in page  # the header shows the deployed schedule
    with tenant_context(tenant_a):
        services.workflow_save_version(
            workflow=workflow, spec={**spec, "schedule": "@continuous"}, base_version=1, user=None
        )
    page = client.get(f"/workflows/{workflow.slug}/settings/").content.decode()
    assert "redeploy-note" in page and "schedule changed" in page and "Redeploy to apply" in page
    assert "Runs continuously" in page
    preview = client.get("/schedule-preview/", {"schedule_preset": "@continuous"}).content.decode()
    assert "continuously" in preview
    preview = client.get(
        "/schedule-preview/",
        {"schedule_preset": "cron", "schedule_cron": "0 12 * * *", "start_date": "2031-01-01T00:00"},
    ).content.decode()
    assert "Wed 1 Jan 2031, 12:00 UTC" in preview and preview.count("<li>") == 5


def test_it_keeps_the_lists_and_settings_at_a_bounded_number_of_queries(
    tenant_a, tenant_client, editor, django_assert_max_num_queries
):
    for n in range(6):
        _create(tenant_a, name=f"Flow {n}", spec={"nodes": [], "edges": [], "schedule": "@daily"})
    client = tenant_client(tenant_a, editor)
    slug = "flow_0"
    for url, limit in (("/", 12), ("/workflows/", 8), ("/runs/", 12), (f"/workflows/{slug}/settings/", 10)):
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200, url
