"""A tenant with a dedicated Airflow (issue 13 item 6): a second real Airflow with its own home, DAG folder and
port. The tenant's deploy lands only there, its runs and logs come from there, and the shared Airflow never
sees the DAG."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings

from flowui.lib.airflow import AirflowClient, AirflowError
from tests.airflow_support import extra_airflow
from tests.test_workflows_airflow import api, deploy_until_live, post, run_until_done
from tests.workflows_support import echo_repo_files, node

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def dedicated_airflow():
    instance = extra_airflow("airflow-dedicated")
    instance.start()
    yield instance
    instance.stop()


def test_it_deploys_runs_and_logs_through_the_tenants_dedicated_airflow(
    airflow, dedicated_airflow, tenant_b, make_user, git_repo, db
):
    from django.db import connection

    from registry.services import repository_create, repository_sync_now
    from tenants.provisioning import run_airflow
    from tenants.selectors import tenant_dags_folder, tenant_resources

    connection.set_schema_to_public()  # an earlier test of the session may have left another tenant's schema set
    # globex gets its own Airflow (rolled back with the test's transaction); acme stays on the shared one.
    tenant_b.airflow_mode = "dedicated"
    tenant_b.airflow_url = dedicated_airflow.url
    tenant_b.airflow_username = dedicated_airflow.username
    tenant_b.airflow_password = dedicated_airflow.password
    tenant_b.airflow_dags_path = str(dedicated_airflow.dags_folder)
    tenant_b.save()
    # The provisioning step checks it answers and accepts the credentials.
    checked = run_airflow(tenant_b, tenant_resources(tenant=tenant_b))
    assert checked["mode"] == "dedicated" and checked["url"] == dedicated_airflow.url

    path, _ = git_repo(echo_repo_files(), name="echo-dedicated")
    repository = repository_create(slug="echo-dedicated", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    client = api(tenant_b, make_user("dedicated-editor", tenant=tenant_b, role="editor"))
    spec = {
        "nodes": [
            node("a", {"text": {"value": "only-in-dedicated"}}, repository="echo-dedicated"),
            node("b", {"text": {"from": "a", "field": "text"}}, repository="echo-dedicated"),
        ],
        "edges": [{"source": "a", "target": "b"}],
    }
    created = post(client, "/api/workflows/", {"name": f"Dedicated {uuid.uuid4().hex[:6]}", "spec": spec})
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    dag_id = f"globex__{slug}"

    deploy_until_live(client, slug)
    # The file is in the dedicated Airflow's folder only, not in the shared DAGs folder.
    assert tenant_dags_folder(tenant=tenant_b) == dedicated_airflow.dags_folder
    assert (dedicated_airflow.dags_folder / f"{dag_id}.py").exists()
    assert not list(Path(settings.FLOWUI_DAGS_DIR).rglob(f"{dag_id}.py"))

    run = run_until_done(client, slug)
    assert run["state"] == "success", run
    tasks = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/").json()
    assert {t["task_id"]: t["state"] for t in tasks} == {"a": "success", "b": "success"}
    log = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/a/logs/?limit=5000").json()
    assert any("echo got" in line and "only-in-dedicated" in line for line in log["lines"]), log["lines"][-20:]
    assert client.get(f"/api/workflows/{slug}/runs/").json()["count"] == 1

    # The run and its log are the dedicated Airflow's own (asked directly, not through FlowUI).
    own = AirflowClient(dedicated_airflow.url, dedicated_airflow.username, dedicated_airflow.password)
    assert own.call(lambda a: a.dag_run.get_dag_run(dag_id, run["run_id"])).state.value == "success"
    assert (dedicated_airflow.home / "logs" / f"dag_id={dag_id}").is_dir()

    # The shared Airflow never saw the DAG: not in /api/v2/dags, no runs, no log folder.
    shared = AirflowClient(airflow.url, airflow.username, airflow.password)
    listed = shared.call(lambda a: a.dag.get_dags(dag_id_pattern="globex__", limit=1000))
    assert dag_id not in {d.dag_id for d in listed.dags}
    with pytest.raises(AirflowError) as missing:
        shared.call(lambda a: a.dag.get_dag(dag_id))
    assert missing.value.status == 404
    assert not (airflow.home / "logs" / f"dag_id={dag_id}").exists()

    # A tenant on the shared Airflow is unaffected: it cannot see globex's dedicated workflow either.
    other = api(session_acme(), make_user("shared-outsider", tenant=session_acme(), role="owner"))
    assert other.get(f"/api/workflows/{slug}/runs/").status_code == 404


def session_acme():
    from tests.conftest import session_tenants_ensure

    return session_tenants_ensure()[0]
