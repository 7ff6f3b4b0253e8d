"""A deploy while the tenant's Airflow is unreachable waits, and a real Celery worker completes it once
Airflow answers again."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.workflows_support import echo_repo_files, node, wait_for

pytestmark = pytest.mark.timeout(600)


def test_it_finishes_a_deploy_when_airflow_comes_back(
    airflow, celery_worker, transactional_db, tenant_a, make_user, git_repo
):
    from registry.services import repository_create, repository_sync_now
    from tenants.models import Tenant
    from workflows import services
    from workflows.models import DeployState, Workflow

    path, _ = git_repo(echo_repo_files(), name="echo-retry")
    repository = repository_create(slug="echo-retry", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    user = make_user("retry-editor", tenant=tenant_a, role="editor")

    # The tenant gets a "dedicated" Airflow that is down (nothing listens on port 9).
    Tenant.objects.filter(pk=tenant_a.pk).update(
        airflow_mode=Tenant.AirflowMode.DEDICATED,
        airflow_url="http://127.0.0.1:9",
        airflow_username=airflow.username,
    )
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    tenant.airflow_password = airflow.password
    tenant.save(update_fields=["airflow_password_encrypted"])
    workflow_id = None
    try:
        with tenant_context(tenant):
            spec = {"nodes": [node("a", {"text": {"value": "back"}}, repository="echo-retry")], "edges": []}
            workflow = services.workflow_create(name="Retry when back", spec=spec, user=user)
            workflow_id = workflow.pk
            services.workflow_deploy(tenant=tenant, workflow=workflow, user=user)  # on_commit -> the worker

            def state():
                return Workflow.objects.get(pk=workflow_id).deploy_state

            wait_for(lambda: state() == DeployState.WAITING_FOR_AIRFLOW, timeout_s=30, what="waiting_for_airflow")
            Tenant.objects.filter(pk=tenant.pk).update(airflow_url=airflow.url)  # Airflow is back
            wait_for(lambda: state() == DeployState.LIVE, timeout_s=180, what="live after Airflow came back")
            assert Workflow.objects.get(pk=workflow_id).deploy_live_at is not None
    finally:
        Tenant.objects.filter(pk=tenant_a.pk).update(
            airflow_mode=Tenant.AirflowMode.SHARED, airflow_url="", airflow_username="", airflow_password_encrypted=""
        )
        if workflow_id is not None:
            with tenant_context(tenant_a):
                Workflow.objects.filter(pk=workflow_id).delete()
