"""A cron workflow really fires in the real Airflow of the test session (its scheduler, not a trigger), and the
next fire time the portal shows is the one Airflow uses."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context

from tests.test_workflows_airflow import api, deploy_until_live, post
from tests.workflows_support import echo_repo_files, node, wait_for

pytestmark = pytest.mark.timeout(420)


def test_it_fires_a_cron_workflow_in_airflow_within_90_seconds(
    airflow, tenant_a, make_user, git_repo, db, tenant_client
):
    from flowui.lib.airflow import AirflowError
    from registry.services import repository_create, repository_sync_now
    from tenants.selectors import tenant_airflow
    from workflows.schedules import next_fire_times
    from workflows.selectors import workflow_get
    from workflows.services import DagNotStaleYet, airflow_dag_delete, workflow_delete
    from workflows.supervision import runs_list, workflow_pause_set

    path, _ = git_repo(echo_repo_files(), name="echo-cron")
    repository = repository_create(slug="echo-cron", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    editor = make_user("cron-editor", tenant=tenant_a, role="editor")
    client = api(tenant_a, editor)
    spec = {
        "nodes": [node("a", {"text": {"value": "tick"}}, repository="echo-cron")],
        "edges": [],
        "schedule": "* * * * *",
        "start_date": "2024-01-01T00:00:00+00:00",  # in the past; catchup is off, so only new minutes fire
    }
    # A new slug each time: Airflow's home outlives the test session, and an old DAG keeps its old runs.
    name = f"Every minute {uuid.uuid4().hex[:8]}"
    created = post(client, "/api/workflows/", {"name": name, "spec": spec})
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
                    and datetime.fromisoformat(r["run_after"]) >= live_at.replace(second=0, microsecond=0)
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

        # Pause from the portal: Airflow's DAG is paused (PATCH dags is_paused), and the header says so.
        portal = tenant_client(tenant_a, editor)
        assert portal.post(f"/workflows/{slug}/pause/", {"paused": "1"}).status_code == 302
        dag_id = f"{tenant_a.schema_name}__{slug}"
        assert tenant_airflow(tenant=tenant_a).call(lambda api: api.dag.get_dag(dag_id)).is_paused is True
        assert 'id="paused-badge"' in portal.get(f"/workflows/{slug}/settings/").content.decode()
    finally:
        with tenant_context(tenant_a):
            workflow_pause_set(tenant=tenant_a, workflow=workflow, paused=True)
            workflow_delete(tenant=tenant_a, workflow=workflow)
            # The Celery task that deletes the DAG runs on commit, which never comes in this test: do it here.
            # A scheduled run may still be running: Airflow refuses the DELETE (409) until it ends, and the
            # Celery task retries then; here, up to a minute.
            give_up_at = time.monotonic() + 60
            while True:
                try:
                    airflow_dag_delete(tenant=tenant_a, dag_id=f"{tenant_a.schema_name}__{slug}", wait_stale_s=60)
                except DagNotStaleYet:
                    pass  # paused, its file gone: Airflow keeps a stale, paused DAG at worst
                except AirflowError as exc:
                    if exc.status == 409 and time.monotonic() < give_up_at:
                        time.sleep(1)
                        continue
                    raise
                break
