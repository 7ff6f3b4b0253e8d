"""End to end against the real Airflow of the test session, through the REST API only."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tenants.selectors import tenant_storage_root
from tenants.services import api_token_create
from tests.workflows_support import echo_repo_files, node, wait_for

REPO = Path(__file__).resolve().parent.parent
NASTY = (
    "q'\"''' \"\"\" \\ \\n\nline2 __import__('os').system('touch /tmp/flowui-pwned-wf') "
    "{{ ds }} {{ 7*7 }} {% raw %} Zürich 東京 ✓"
)

pytestmark = pytest.mark.timeout(900)


def api(tenant, user) -> Client:
    _, key = api_token_create(user=user, tenant=tenant)
    return Client(HTTP_HOST=f"{tenant.schema_name}.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def deploy_until_live(client, slug: str, timeout_s: float = 300) -> dict:
    response = post(client, f"/api/workflows/{slug}/deploy/", {})
    assert response.status_code == 202, response.content
    status = wait_for(
        lambda: (lambda s: s if s["state"] not in ("pending", "waiting_for_airflow") else None)(
            client.get(f"/api/workflows/{slug}/deploy/").json()
        ),
        timeout_s=timeout_s,
        what=f"deploy of {slug}",
    )
    assert status["state"] == "live", status
    return status


def run_until_done(client, slug: str, params: dict | None = None, timeout_s: float = 300) -> dict:
    triggered = post(client, f"/api/workflows/{slug}/runs/", {"params": params or {}})
    assert triggered.status_code == 201, triggered.content
    run_id = triggered.json()["run_id"]
    run = wait_for(
        lambda: (lambda r: r if r["state"] in ("success", "failed") else None)(
            client.get(f"/api/workflows/{slug}/runs/{run_id}/").json()
        ),
        timeout_s=timeout_s,
        what=f"run {run_id}",
    )
    return run


def result_json(client, slug: str, run_id: str, task_id: str, name: str = "result.json") -> dict:
    response = client.get(f"/api/workflows/{slug}/runs/{run_id}/results/{task_id}/{name}")
    assert response.status_code == 200, (name, response.status_code)
    return json.loads(b"".join(response.streaming_content))


@pytest.fixture
def bundled(db):
    from registry.services import dependency_venv_ensure, repository_create, repository_sync_now

    repository = repository_create(slug="flowui-bundled-wf", name="Bundled", url=f"file://{REPO}")
    sync = repository_sync_now(repository=repository)
    assert sync.state == "done", sync.error
    # A deploy never builds venvs in its request (a Celery task does, and on_commit tasks do not run in these
    # tests): build the group of the operators used here first, as the post-sync autobuild would.
    for group in repository.dependency_groups.filter(name="data"):
        dependency_venv_ensure(group)
    return repository


def sales_spec(threshold: float) -> dict:
    operator = {"repository": "flowui-bundled-wf", "version": "1.0.0"}
    return {
        "nodes": [
            {
                "id": "load",
                "label": "Load",
                "operator": {**operator, "name": "load_dataset"},
                "inputs": {"source": {"param": "source"}},
            },
            {
                "id": "filter",
                "label": "Big sales",
                "operator": {**operator, "name": "filter_rows"},
                "inputs": {
                    "dataset_path": {"from": "load", "field": "dataset_path"},
                    "conditions": {"value": [{"column": "amount", "op": ">", "value": threshold}]},
                },
            },
            {
                "id": "stats",
                "label": "Per region",
                "operator": {**operator, "name": "group_by_stats"},
                "inputs": {
                    "dataset_path": {"from": "filter", "field": "dataset_path"},
                    "group_by": {"value": ["region"]},
                    "aggregations": {"value": [{"column": "amount", "func": "sum", "name": "total"}]},
                },
            },
        ],
        "edges": [{"source": "load", "target": "filter"}, {"source": "filter", "target": "stats"}],
        "params": [{"name": "source", "type": "string", "default": "dataset/sales.csv", "description": "CSV"}],
        "tags": ["e2e"],
    }


def test_it_runs_a_workflow_end_to_end_through_the_api(airflow, tenant_a, make_user, bundled):
    client = api(tenant_a, make_user("e2e-editor", tenant=tenant_a, role="editor"))
    dataset = tenant_storage_root(tenant=tenant_a) / "dataset"
    dataset.mkdir(parents=True, exist_ok=True)
    (dataset / "sales.csv").write_text("region,amount\nnorth,5\nnorth,50\nsouth,20\n")
    (dataset / "sales_big.csv").write_text("region,amount\nnorth,500\nwest,70\nwest,30\nsouth,1\n")

    # Airflow's metadata outlives test databases: a fresh slug keeps earlier sessions' runs out of the counts.
    created = post(
        client, "/api/workflows/", {"name": f"Regional sales {uuid.uuid4().hex[:6]}", "spec": sales_spec(10)}
    )
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    validation = post(client, f"/api/workflows/{slug}/validate/", {}).json()
    assert validation["valid"], validation

    deploy_until_live(client, slug)
    run = run_until_done(client, slug, params={"source": "dataset/sales_big.csv"})
    assert run["state"] == "success", run
    assert run["conf"] == {"source": "dataset/sales_big.csv"} and run["duration_s"] > 0
    tasks = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/").json()
    assert {t["task_id"]: t["state"] for t in tasks} == {"load": "success", "filter": "success", "stats": "success"}

    log = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/stats/logs/?limit=5").json()
    assert log["complete"] is False or log["total_lines"] <= 5
    assert log["lines"] and log["next_offset"] == len(log["lines"])
    full = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/stats/logs/?limit=5000").json()
    assert full["complete"] is True and full["total_lines"] >= len(log["lines"])

    files = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/results/").json()
    names = {(f["task_id"], f["path"]) for f in files}
    assert ("stats", "stats.csv") in names and ("stats", "result.json") in names
    stats = result_json(client, slug, run["run_id"], "stats")
    assert stats["status"] == "success" and stats["output"]["group_count"] == 2  # north 500, west 70 + 30
    csv = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/results/stats/stats.csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert b"west,100" in b"".join(csv.streaming_content).replace(b".0", b"")

    # Edit -> redeploy -> the next run uses the new version (threshold 60 keeps only north 500 and west 70).
    saved = post(client, f"/api/workflows/{slug}/versions/", {"spec": sales_spec(60), "base_version": 1})
    assert saved.status_code == 201
    status = deploy_until_live(client, slug)
    assert status["version"] == 2
    assert deploy_until_live(client, slug, timeout_s=60)["version"] == 2  # redeploying the same version works
    second = run_until_done(client, slug, params={"source": "dataset/sales_big.csv"})
    assert second["state"] == "success", second
    filtered = result_json(client, slug, second["run_id"], "filter")
    assert filtered["output"]["rows_out"] == 2
    assert max(second["dag_versions"]) > max(run["dag_versions"])

    runs = client.get(f"/api/workflows/{slug}/runs/?limit=1").json()
    assert runs["count"] == 2 and runs["results"][0]["run_id"] == second["run_id"]
    assert client.get(f"/api/workflows/{slug}/runs/?state=failed").json()["count"] == 0

    # Retry one task (and its downstream), then the whole run.
    cleared = post(client, f"/api/workflows/{slug}/runs/{second['run_id']}/clear/", {"task_ids": ["filter"]})
    assert cleared.status_code == 200 and set(cleared.json()["cleared_task_ids"]) == {"filter", "stats"}
    wait_for(
        lambda: client.get(f"/api/workflows/{slug}/runs/{second['run_id']}/").json()["state"] == "success",
        timeout_s=180,
        what="cleared run to succeed again",
    )
    retried = client.get(f"/api/workflows/{slug}/runs/{second['run_id']}/tasks/").json()
    assert {t["task_id"]: t["try_number"] for t in retried}["filter"] == 2

    # Pause / unpause reach Airflow.
    assert post(client, f"/api/workflows/{slug}/pause/", {"paused": True}).json()["paused"] is True
    from tenants.selectors import tenant_airflow

    dag_id = f"acme__{slug}"
    assert tenant_airflow(tenant=tenant_a).call(lambda a: a.dag.get_dag(dag_id)).is_paused is True
    post(client, f"/api/workflows/{slug}/pause/", {"paused": False})
    assert tenant_airflow(tenant=tenant_a).call(lambda a: a.dag.get_dag(dag_id)).is_paused is False

    # Cancel: a run marked failed stays failed.
    queued = post(client, f"/api/workflows/{slug}/runs/", {}).json()
    cancelled = post(client, f"/api/workflows/{slug}/runs/{queued['run_id']}/cancel/", {})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "failed"

    # Delete removes the file, then the DAG from Airflow (deferred while tasks of the DAG still run).
    from flowui.lib.airflow import AirflowError
    from workflows.services import DagNotStaleYet, airflow_dag_delete

    # The DAG file lies in the platform's DAGs folder, which Airflow parses, not in the tenant's storage.
    dag_file = Path(settings.FLOWUI_DAGS_DIR) / "acme" / f"{dag_id}.py"
    assert dag_file.exists() and Path(airflow.dags_folder) == Path(settings.FLOWUI_DAGS_DIR)
    assert not any(tenant_storage_root(tenant=tenant_a).rglob(f"{dag_id}.py"))
    assert client.delete(f"/api/workflows/{slug}/").status_code == 204
    assert not dag_file.exists()

    def deleted():
        try:
            airflow_dag_delete(tenant=tenant_a, dag_id=dag_id)
        except DagNotStaleYet:
            return False  # the dag-processor has not seen the file gone yet
        except AirflowError as exc:
            assert exc.status == 409, exc
            return False
        return True

    wait_for(deleted, timeout_s=120, interval_s=1, what="DAG deletion in Airflow")
    with pytest.raises(AirflowError) as gone:
        tenant_airflow(tenant=tenant_a).call(lambda a: a.dag.get_dag(dag_id))
    assert gone.value.status == 404


def test_it_keeps_hostile_values_as_data(airflow, tenant_a, tenant_b, make_user, git_repo, db):
    from registry.services import repository_create, repository_sync_now

    path, _ = git_repo(echo_repo_files(), name="echo-e2e")
    repository = repository_create(slug="echo-e2e", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    marker = Path("/tmp/flowui-pwned-wf")
    marker.unlink(missing_ok=True)

    client = api(tenant_a, make_user("evil-editor", tenant=tenant_a, role="editor"))
    spec = {
        "nodes": [
            node("a", {"text": {"value": NASTY}}, repository="echo-e2e", label=NASTY),
            node("b", {"text": {"param": "p"}}, repository="echo-e2e", label=NASTY[::-1]),
        ],
        "edges": [{"source": "a", "target": "b"}],
        "params": [{"name": "p", "type": "string", "default": NASTY, "description": NASTY}],
        "tags": ["evil ' \" {{ x }}"],
    }
    created = post(client, "/api/workflows/", {"name": NASTY, "description": NASTY, "spec": spec})
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    deploy_until_live(client, slug)
    override = NASTY + " (override)"
    run = run_until_done(client, slug, params={"p": override})
    assert run["state"] == "success", run
    assert result_json(client, slug, run["run_id"], "a")["output"]["text"] == NASTY
    assert result_json(client, slug, run["run_id"], "b")["output"]["text"] == override
    assert result_json(client, slug, run["run_id"], "a", "echo.json")["text"] == NASTY
    assert not marker.exists()
    log = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/a/logs/?limit=5000").json()
    assert any("echo got" in line for line in log["lines"])

    # Another tenant cannot reach this workflow, its runs, logs or results.
    other = api(tenant_b, make_user("evil-outsider", tenant=tenant_b, role="owner"))
    for url in (
        f"/api/workflows/{slug}/runs/",
        f"/api/workflows/{slug}/runs/{run['run_id']}/",
        f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/a/logs/",
        f"/api/workflows/{slug}/runs/{run['run_id']}/results/a/result.json",
    ):
        assert other.get(url).status_code == 404, url
    assert post(other, f"/api/workflows/{slug}/runs/", {}).status_code == 404


def test_it_reports_an_import_error_as_a_failed_deploy(airflow, tenant_a, make_user, git_repo, db, monkeypatch):
    from registry.services import repository_create, repository_sync_now
    from workflows import dag_writer

    path, _ = git_repo(echo_repo_files(), name="echo-broken")
    repository = repository_create(slug="echo-broken", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    client = api(tenant_a, make_user("broken-editor", tenant=tenant_a, role="editor"))
    spec = {"nodes": [node("a", {"text": {"value": "x"}}, repository="echo-broken")], "edges": []}
    slug = post(client, "/api/workflows/", {"name": "Broken", "spec": spec}).json()["slug"]
    # Simulate a runtime that cannot build the DAG (e.g. an incompatible runtime version on the Airflow side).
    monkeypatch.setattr(dag_writer, "_TEMPLATE", dag_writer._TEMPLATE + "raise RuntimeError('runtime says no')\n")
    post(client, f"/api/workflows/{slug}/deploy/", {})
    status = wait_for(
        lambda: (lambda s: s if s["state"] == "failed" else None)(client.get(f"/api/workflows/{slug}/deploy/").json()),
        timeout_s=120,
        what="failed deploy",
    )
    assert "runtime says no" in status["error"]


def test_it_runs_on_the_sample_dataset_untouched_and_on_an_uploaded_one(airflow, tenant_a, make_user, bundled):
    """A first workflow needs no file of its own: every tenant has dataset/samples/ (provisioning). A file uploaded
    through /api/datasets/ is what the next run reads."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from datasets.services import samples_install

    samples_install(tenant=tenant_a)
    client = api(tenant_a, make_user("e2e-datasets", tenant=tenant_a, role="editor"))
    mine = b"region,amount\nWest,500\nWest,70\nEast,1\n"
    uploaded = client.post(
        "/api/datasets/", {"path": "uploads", "overwrite": "true", "file": SimpleUploadedFile("mine.csv", mine)}
    )
    assert uploaded.status_code == 201, uploaded.content

    spec = sales_spec(10)
    spec["params"][0]["default"] = "dataset/samples/sales.csv"
    created = post(client, "/api/workflows/", {"name": f"Samples {uuid.uuid4().hex[:6]}", "spec": spec})
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    deploy_until_live(client, slug)
    run = run_until_done(client, slug)
    assert run["state"] == "success", run
    stats = result_json(client, slug, run["run_id"], "stats")
    assert stats["output"]["group_count"] == 4  # North, South, East, West
    loaded = result_json(client, slug, run["run_id"], "load")
    assert loaded["output"]["column_names"] == ["region", "month", "product", "amount"]

    second = run_until_done(client, slug, params={"source": "dataset/uploads/mine.csv"})
    assert second["state"] == "success", second
    assert result_json(client, slug, second["run_id"], "filter")["output"]["rows_out"] == 2
    assert result_json(client, slug, second["run_id"], "stats")["output"]["group_count"] == 1
