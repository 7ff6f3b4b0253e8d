"""The runs of many workflows in one Airflow call (workflows.supervision_many), against the session's real Airflow:
the runs page and the dashboard ask Airflow once, whatever the number of workflows."""

from __future__ import annotations

import uuid

import pytest

from flowui.lib.airflow import AirflowClient
from tests.test_workflows_airflow import api, deploy_until_live, post
from tests.workflows_support import echo_repo_files, node

pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def airflow_calls(monkeypatch):
    calls: list[str] = []
    original = AirflowClient.call

    def counting(self, fn):
        calls.append(self.url)
        return original(self, fn)

    monkeypatch.setattr(AirflowClient, "call", counting)
    return calls


def test_it_lists_the_runs_of_many_workflows_in_one_airflow_call(
    airflow, tenant_a, make_user, git_repo, db, tenant_client, airflow_calls, django_assert_max_num_queries
):
    from registry.services import repository_create, repository_sync_now
    from workflows.models import Workflow
    from workflows.supervision_many import runs_list_many

    path, _ = git_repo(echo_repo_files(), name="echo-many")
    repository = repository_create(slug="echo-many", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    editor = make_user("many-editor", tenant=tenant_a, role="editor")
    client = api(tenant_a, editor)
    spec = {"nodes": [node("a", {"text": {"value": "x"}}, repository="echo-many")], "edges": []}
    tag = uuid.uuid4().hex[:6]
    slugs = []
    for i in range(3):
        created = post(client, "/api/workflows/", {"name": f"Many {tag} {i}", "spec": spec})
        assert created.status_code == 201, created.content
        slugs.append(created.json()["slug"])
        deploy_until_live(client, slugs[-1])
    run_ids = {slug: post(client, f"/api/workflows/{slug}/runs/", {}).json()["run_id"] for slug in slugs}

    workflows = list(Workflow.objects.filter(slug__in=slugs))
    airflow_calls.clear()
    page = runs_list_many(tenant=tenant_a, workflows=workflows, limit=100)
    assert len(airflow_calls) == 1
    got = {(r["workflow"].slug, r["run_id"]) for r in page["results"]}
    assert got == set(run_ids.items()) and page["count"] == 3
    assert {r["run_id"] for r in runs_list_many(tenant=tenant_a, workflows=workflows[:1])["results"]} == {
        run_ids[workflows[0].slug]
    }
    assert runs_list_many(tenant=tenant_a, workflows=[]) == {"count": 0, "results": []}
    with pytest.raises(ValueError):
        runs_list_many(tenant=tenant_a, workflows=workflows, state="exploded")

    # The portal's runs page and dashboard: one Airflow call each, a bounded number of queries.
    portal = tenant_client(tenant_a, editor)
    airflow_calls.clear()
    with django_assert_max_num_queries(12):
        response = portal.get("/runs/")
    assert response.status_code == 200 and len(airflow_calls) == 1
    for run_id in run_ids.values():
        assert run_id in response.content.decode()
    airflow_calls.clear()
    with django_assert_max_num_queries(14):
        response = portal.get("/")
    assert response.status_code == 200 and len(airflow_calls) == 1
