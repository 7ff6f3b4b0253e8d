"""A cron workflow really fires in the real Airflow of the test session (its scheduler, not a trigger), and the
next fire time the portal shows is the one Airflow uses."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context

from tests.test_workflows_airflow import api, deploy_until_live, post
from tests.workflows_support import echo_repo_files, node, wait_for

pytestmark = pytest.mark.timeout(420)


def test_it_fires_a_cron_workflow_in_airflow_within_90_seconds(airflow, tenant_a, make_user, git_repo, db):
    from registry.services import repository_create, repository_sync_now
    from workflows.schedules import next_fire_times
    from workflows.selectors import workflow_get
    from workflows.services import workflow_delete
    from workflows.supervision import runs_list, workflow_pause_set

    path, _ = git_repo(echo_repo_files(), name="echo-cron")
    repository = repository_create(slug="echo-cron", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    client = api(tenant_a, make_user("cron-editor", tenant=tenant_a, role="editor"))
    spec = {
        "nodes": [node("a", {"text": {"value": "tick"}}, repository="echo-cron")],
        "edges": [],
        "schedule": "* * * * *",
        "start_date": "2024-01-01T00:00:00+00:00",  # in the past; catchup is off, so only new minutes fire
    }
    created = post(client, "/api/workflows/", {"name": "Every minute", "spec": spec})
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    with tenant_context(tenant_a):
        workflow = workflow_get(slug=slug)
    try:
        deploy_until_live(client, slug, timeout_s=180)
        live_at = datetime.now(UTC)
        expected = next_fire_times(schedule="* * * * *", start_date=spec["start_date"], now=live_at)["times"][0]
        started = time.monotonic()
        with tenant_context(tenant_a):
            scheduled = wait_for(
                lambda: [
                    r
                    for r in runs_list(tenant=tenant_a, workflow=workflow, limit=10)["results"]
                    if r["run_type"] == "scheduled"
                ],
                timeout_s=90,
                interval_s=2,
                what="a scheduled run of the every-minute workflow",
            )
        assert time.monotonic() - started <= 90
        assert not [r for r in scheduled if r["run_type"] == "manual"]
        # Catchup off: no run for the two years since the start date, only the minutes since the deploy.
        assert len(scheduled) <= 3, scheduled
        fired = datetime.fromisoformat(scheduled[-1]["run_after"])
        assert abs((fired - expected).total_seconds()) <= 60, (fired, expected)
    finally:
        with tenant_context(tenant_a):
            workflow_pause_set(tenant=tenant_a, workflow=workflow, paused=True)
            workflow_delete(tenant=tenant_a, workflow=workflow)
