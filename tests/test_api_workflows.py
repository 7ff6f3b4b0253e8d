"""The workflows REST API without a running Airflow: CRUD, versions, conflicts, validation, roles, tenant
isolation, Airflow down, result files (path traversal), and the OpenAPI schema."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.selectors import tenant_storage_root
from tenants.services import api_token_create
from tests.workflows_support import chain_spec, echo_repo_files, node, operator_version_make
from workflows.models import DeployState, Workflow


def api_client(tenant, user) -> Client:
    _, key = api_token_create(user=user, tenant=tenant)
    return Client(HTTP_HOST=f"{tenant.schema_name}.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def echo(db):
    return operator_version_make()


@pytest.fixture
def editor_api(tenant_a, make_user):
    return api_client(tenant_a, make_user("api-editor", tenant=tenant_a, role="editor"))


def test_it_creates_edits_versions_diffs_and_restores_workflows(editor_api, echo):
    response = post(editor_api, "/api/workflows/", {"name": "Daily 'sales'", "spec": chain_spec()})
    assert response.status_code == 201, response.content
    body = response.json()
    slug = body["slug"]
    assert body["dag_id"] == f"acme__{slug}" and body["current_version"] == 1
    assert body["deploy"]["state"] == "not_deployed"

    listed = editor_api.get("/api/workflows/?search=sales").json()
    assert listed["count"] == 1 and listed["results"][0]["slug"] == slug
    assert editor_api.get("/api/workflows/?deploy_state=live").json()["count"] == 0

    url = f"/api/workflows/{slug}/"
    assert patch(editor_api, url, {"description": "Numbers"}).json()["description"] == "Numbers"

    saved = post(editor_api, f"{url}versions/", {"spec": chain_spec("two"), "base_version": 1, "message": "two"})
    assert saved.status_code == 201 and saved.json()["number"] == 2
    stale = post(editor_api, f"{url}versions/", {"spec": chain_spec("lost"), "base_version": 1})
    assert stale.status_code == 409
    assert stale.json()["error"] == "conflict" and stale.json()["current_version"] == 2

    versions = editor_api.get(f"{url}versions/").json()
    assert [v["number"] for v in versions["results"]] == [2, 1]
    assert versions["results"][0]["author"] == "api-editor" and versions["results"][0]["message"] == "two"
    assert editor_api.get(f"{url}versions/1/").json()["spec"]["nodes"][0]["inputs"]["text"] == {"value": "hello"}

    diff = editor_api.get(f"{url}versions/diff/?from_version=1&to_version=2").json()
    assert diff["nodes"]["changed"][0]["id"] == "a" and diff["nodes"]["changed"][0]["inputs"]["changed"] == ["text"]
    assert editor_api.get(f"{url}versions/diff/?from_version=1&to_version=9").status_code == 404

    restored = post(editor_api, f"{url}versions/1/restore/", {})
    assert restored.status_code == 201 and restored.json()["number"] == 3
    assert editor_api.get(url).json()["spec"]["nodes"][0]["inputs"]["text"] == {"value": "hello"}

    malformed = post(editor_api, f"{url}versions/", {"spec": {"nodes": [{"id": "1bad"}]}, "base_version": 3})
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid"
    assert "id" in malformed.json()["fields"]["nodes"]["1bad"]

    assert editor_api.delete(url).status_code == 204
    assert editor_api.get(url).status_code == 404


def test_it_validates_with_per_node_errors(editor_api, echo):
    slug = post(editor_api, "/api/workflows/", {"name": "Checked", "spec": chain_spec()}).json()["slug"]
    ok = post(editor_api, f"/api/workflows/{slug}/validate/", {}).json()
    assert ok == {"valid": True, "errors": {"nodes": {}, "workflow": []}}
    bad = chain_spec()
    bad["nodes"][1]["inputs"] = {}
    bad["schedule"] = "61 * * * *"
    result = post(editor_api, f"/api/workflows/{slug}/validate/", {"spec": bad}).json()
    assert result["valid"] is False
    assert result["errors"]["nodes"]["b"]["inputs.text"] == ["is required"]
    assert "cron" in result["errors"]["workflow"][0]
    # An invalid spec cannot be deployed; the answer names the problems.
    post(editor_api, f"/api/workflows/{slug}/versions/", {"spec": bad, "base_version": 1})
    refused = post(editor_api, f"/api/workflows/{slug}/deploy/", {})
    assert refused.status_code == 400 and refused.json()["fields"]["nodes"]["b"]["inputs.text"] == ["is required"]


def test_it_enforces_roles_and_tenant_isolation(tenant_a, tenant_b, make_user, echo):
    editor = make_user("iso-editor", tenant=tenant_a, role="editor")
    viewer = make_user("iso-viewer", tenant=tenant_a, role="viewer")
    outsider = make_user("iso-outsider", tenant=tenant_b, role="owner")
    a_editor, a_viewer = api_client(tenant_a, editor), api_client(tenant_a, viewer)
    slug = post(a_editor, "/api/workflows/", {"name": "Secret plan", "spec": chain_spec()}).json()["slug"]

    assert a_viewer.get(f"/api/workflows/{slug}/").status_code == 200
    assert post(a_viewer, f"/api/workflows/{slug}/validate/", {}).status_code == 200
    for url in (f"/api/workflows/{slug}/deploy/", f"/api/workflows/{slug}/runs/", f"/api/workflows/{slug}/versions/"):
        assert post(a_viewer, url, {}).status_code == 403, url
    assert a_viewer.delete(f"/api/workflows/{slug}/").status_code == 403

    # Tenant B's token does not work on A's domain; on B's domain A's workflow does not exist.
    _, b_key = api_token_create(user=outsider, tenant=tenant_b)
    on_a = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {b_key}")
    assert on_a.get(f"/api/workflows/{slug}/").status_code == 401
    b_api = api_client(tenant_b, outsider)
    assert b_api.get("/api/workflows/").json()["count"] == 0
    for url in (f"/api/workflows/{slug}/", f"/api/workflows/{slug}/runs/", f"/api/workflows/{slug}/runs/x/results/"):
        assert b_api.get(url).status_code == 404, url
    assert post(b_api, f"/api/workflows/{slug}/runs/", {}).status_code == 404
    assert Client(HTTP_HOST="acme.localhost").get("/api/workflows/").status_code in (401, 403)


def test_it_serves_result_files_safely_and_never_outside_the_run_folder(tenant_a, editor_api, echo):
    slug = post(editor_api, "/api/workflows/", {"name": "Results", "spec": chain_spec()}).json()["slug"]
    storage = tenant_storage_root(tenant=tenant_a)
    run_folder = storage / "runs" / f"acme__{slug}" / "manual__1"
    task = run_folder / "a"
    (task / "sub").mkdir(parents=True)
    (task / "result.json").write_text('{"status": "success"}')
    (task / "page.html").write_text("<script>alert(1)</script>")
    (task / "chart.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    (task / "sub" / "data.csv").write_text("a,b\n1,2\n")
    (task / "blob.bin").write_bytes(b"\x00\x01")
    secret = storage / "secret.txt"
    secret.write_text("tenant secret")
    (task / "escape").symlink_to(storage)
    (task / "link.txt").symlink_to(secret)

    files = editor_api.get(f"/api/workflows/{slug}/runs/manual__1/results/").json()
    by_path = {f["path"]: f for f in files}
    assert set(by_path) == {"result.json", "page.html", "chart.svg", "sub/data.csv", "blob.bin"}
    assert by_path["sub/data.csv"]["size"] == 8 and by_path["sub/data.csv"]["content_type"].startswith("text/csv")

    base = f"/api/workflows/{slug}/runs/manual__1/results/a/"
    html = editor_api.get(base + "page.html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert html["Content-Security-Policy"].startswith("sandbox") and html["X-Content-Type-Options"] == "nosniff"
    assert editor_api.get(base + "chart.svg")["Content-Security-Policy"].startswith("sandbox")
    assert editor_api.get(base + "result.json")["Content-Type"] == "application/json"
    blob = editor_api.get(base + "blob.bin")
    assert blob["Content-Type"] == "application/octet-stream" and blob["Content-Disposition"].startswith("attachment")
    assert b"".join(editor_api.get(base + "sub/data.csv").streaming_content) == b"a,b\n1,2\n"

    from workflows.results import ResultNotFound, task_result

    with tenant_context(tenant_a):
        workflow = Workflow.objects.get(slug=slug)
        assert task_result(tenant=tenant_a, workflow=workflow, run_id="manual__1", task_id="a") == {"status": "success"}
        assert task_result(tenant=tenant_a, workflow=workflow, run_id="manual__1", task_id="zz") is None
        with pytest.raises(ResultNotFound):
            task_result(tenant=tenant_a, workflow=workflow, run_id="../x", task_id="a")

    for evil in (
        "../../../secret.txt",
        "..%2F..%2F..%2Fsecret.txt",
        "escape/secret.txt",
        "link.txt",
        "%2Fetc%2Fpasswd",
        "sub/../../../../secret.txt",
        "..\\..\\secret.txt",
    ):
        response = editor_api.get(base + evil)
        assert response.status_code == 404, (evil, response.status_code)
    assert editor_api.get(f"/api/workflows/{slug}/runs/..%2F..%2F/results/a/result.json").status_code == 404
    assert editor_api.get(f"/api/workflows/{slug}/runs/manual__1/results/..%2F..%2Fa/result.json").status_code == 404


def test_it_keeps_working_when_airflow_is_down(
    tenant_a, editor_api, settings, git_repo, django_capture_on_commit_callbacks
):
    from registry.services import repository_create, repository_sync_now

    path, _ = git_repo(echo_repo_files(), name="echo-down")
    repository = repository_create(slug="echo-down", name="Echo", url=f"file://{path}")
    sync = repository_sync_now(repository=repository)
    assert sync.state == "done", sync.error
    settings.AIRFLOW_URL = "http://127.0.0.1:9"  # nothing listens on the discard port

    spec = {"nodes": [node("a", {"text": {"value": "x"}}, repository="echo-down")], "edges": []}
    slug = post(editor_api, "/api/workflows/", {"name": "Offline", "spec": spec}).json()["slug"]
    with django_capture_on_commit_callbacks(execute=True):
        deployed = post(editor_api, f"/api/workflows/{slug}/deploy/", {})
    assert deployed.status_code == 202, deployed.content
    with tenant_context(tenant_a):
        workflow = Workflow.objects.get(slug=slug)
        assert workflow.deploy_state == DeployState.WAITING_FOR_AIRFLOW
        assert "Airflow" in workflow.deploy_error
    status = editor_api.get(f"/api/workflows/{slug}/deploy/").json()
    assert status["state"] == "waiting_for_airflow" and status["version"] == 1

    triggered = post(editor_api, f"/api/workflows/{slug}/runs/", {})
    assert triggered.status_code == 503 and triggered.json()["error"] == "airflow_unavailable"
    assert editor_api.get(f"/api/workflows/{slug}/runs/").status_code == 503
    # Saving still works.
    saved = post(editor_api, f"/api/workflows/{slug}/versions/", {"spec": spec, "base_version": 1})
    assert saved.status_code == 201


def test_it_rejects_bad_run_params_before_asking_airflow(tenant_a, editor_api, echo, settings):
    settings.AIRFLOW_URL = "http://127.0.0.1:9"
    slug = post(editor_api, "/api/workflows/", {"name": "Params", "spec": chain_spec()}).json()["slug"]
    assert post(editor_api, f"/api/workflows/{slug}/runs/", {}).json()["error"] == "not_deployed"
    with tenant_context(tenant_a):
        workflow = Workflow.objects.get(slug=slug)
        Workflow.objects.filter(pk=workflow.pk).update(deployed_version=workflow.current_version)
    bad = post(editor_api, f"/api/workflows/{slug}/runs/", {"params": {"greeting": 5, "nope": "x"}})
    assert bad.status_code == 400
    assert bad.json()["fields"]["params"] == {
        "greeting": ["must be a string"],
        "nope": ["unknown parameter (this workflow has: greeting)"],
    }


def test_it_publishes_a_valid_openapi_schema(tmp_path, db):
    import yaml
    from openapi_spec_validator import validate

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    validate(schema)
    ours = [
        op
        for path, item in schema["paths"].items()
        if path.startswith("/api/workflows")
        for method, op in item.items()
        if method in ("get", "post", "patch", "delete", "put")
    ]
    ids = [op["operationId"] for op in ours]
    # 23 + 5 webhook routes (list, create, retrieve, partial update, delete) + 2 notification routes
    assert len(ids) == len(set(ids)) == 30 and all(op.get("security") for op in ours)
    assert set(schema["paths"]["/api/workflows/{slug}/webhooks/{webhook_id}/"]) >= {"get", "patch", "delete"}
    assert "/api/workflows/{slug}/runs/{run_id}/tasks/{task_id}/logs/" in schema["paths"]
    assert set(schema["paths"]["/api/workflows/{slug}/notifications/"]) >= {"get", "put"}
    # Tokens, audit log and webhooks (the signed call is the one operation without a token or session).
    assert (
        set(schema["paths"]["/api/tokens/"]) >= {"get", "post"}
        and "delete" in schema["paths"]["/api/tokens/{token_id}/"]
    )
    assert "get" in schema["paths"]["/api/audit/"]
    hook_call = schema["paths"]["/api/hooks/{webhook_id}/"]["post"]
    assert not hook_call.get("security") and {"200", "202", "400", "401", "404", "409", "429"} <= set(
        hook_call["responses"]
    )
    assert {"X-FlowUI-Timestamp", "X-FlowUI-Signature", "Idempotency-Key"} <= {
        p["name"] for p in hook_call["parameters"]
    }


def test_it_fails_a_deploy_cleanly_when_operator_code_cannot_be_fetched(tenant_a, editor_api, git_repo, settings):
    import shutil

    from registry.services import repository_create, repository_sync_now

    path, _ = git_repo(echo_repo_files(), name="echo-gone")
    repository = repository_create(slug="echo-gone", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    shutil.rmtree(path)  # the repository disappeared, and so did the platform's clone of it
    shutil.rmtree(settings.FLOWUI_GIT_CACHE_DIR, ignore_errors=True)
    spec = {"nodes": [node("a", {"text": {"value": "x"}}, repository="echo-gone")], "edges": []}
    slug = post(editor_api, "/api/workflows/", {"name": "Gone", "spec": spec}).json()["slug"]
    response = post(editor_api, f"/api/workflows/{slug}/deploy/", {})
    assert response.status_code == 409 and response.json()["error"] == "deploy_failed"
    assert "operator code" in response.json()["detail"]
    status = editor_api.get(f"/api/workflows/{slug}/deploy/").json()
    assert status["state"] == "failed" and "operator code" in status["error"]


def test_it_keeps_a_deploy_pending_while_celery_builds_its_venv(
    tenant_a, editor_api, settings, git_repo, tmp_path, django_capture_on_commit_callbacks
):
    """The deploy request builds nothing: it answers 202 `pending` at once, without a DAG file; the queued
    Celery task builds the group's venv, then writes the file and watches Airflow (down here)."""
    from flowui_runtime.contracts import VENV_READY_MARKER
    from registry.services import repository_create, repository_sync_now
    from workflows.selectors import workflow_dag_file

    settings.FLOWUI_VENVS_DIR = tmp_path / "venvs"
    settings.AIRFLOW_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    files = echo_repo_files() | {
        "dependencies/dependencies_map.json": json.dumps(
            {"groups": {"toml": {"requirements": ["tomli-w==1.2.0"], "operators": ["echo"]}}}
        )
    }
    path, _ = git_repo(files, name="echo-venv")
    repository = repository_create(slug="echo-venv", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    spec = {"nodes": [node("a", {"text": {"value": "x"}}, repository="echo-venv")], "edges": []}
    slug = post(editor_api, "/api/workflows/", {"name": "Venv", "spec": spec}).json()["slug"]

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post(editor_api, f"/api/workflows/{slug}/deploy/", {})
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "pending"
    assert not settings.FLOWUI_VENVS_DIR.exists() or not any(settings.FLOWUI_VENVS_DIR.iterdir())
    with tenant_context(tenant_a):
        workflow = Workflow.objects.get(slug=slug)
        assert workflow.deploy_written_at is None and not workflow_dag_file(tenant=tenant_a, workflow=workflow).exists()
    # Polling does not ask Airflow (it is down) and does not build: still pending.
    assert editor_api.get(f"/api/workflows/{slug}/deploy/").json()["state"] == "pending"
    assert len(queued) == 1

    queued[0]()  # the Celery task (eager here): build, write, watch
    group = repository.dependency_groups.get(name="toml")
    assert (settings.FLOWUI_VENVS_DIR / group.requirements_hash / VENV_READY_MARKER).exists()
    with tenant_context(tenant_a):
        workflow.refresh_from_db()
        assert workflow.deploy_written_at is not None
        assert workflow_dag_file(tenant=tenant_a, workflow=workflow).exists()
        assert workflow.deploy_state == DeployState.WAITING_FOR_AIRFLOW  # next: Airflow picks the file up


def test_it_refuses_double_underscores_in_workflow_slugs(tenant_a, editor_api, echo):
    """The DAG id is `<schema>__<slug>`: a slug must not contain the separator."""
    refused = post(editor_api, "/api/workflows/", {"name": "Two", "slug": "sales__daily"})
    assert refused.status_code == 400
    assert "'__' is not allowed" in refused.json()["fields"]["slug"][0]
    # A name full of underscores still gets a slug without "__".
    created = post(editor_api, "/api/workflows/", {"name": "sales__daily  __ report"}).json()
    assert "__" not in created["slug"] and created["dag_id"] == f"acme__{created['slug']}"


def test_it_never_follows_a_symlink_planted_in_a_run_folder(tenant_a, tenant_b, editor_api, echo):
    """Tenant code writes the run folders: a symlink to /, to /etc/passwd, to another tenant's file, a
    symlinked intermediate folder and `..` segments all answer 404, and listings leave symlinks out."""
    from tests.workflows_support import HOSTILE_SECRET, hostile_run_folder

    slug = post(editor_api, "/api/workflows/", {"name": "Planted", "spec": chain_spec()}).json()["slug"]
    planted = hostile_run_folder(
        tenant_storage_root(tenant=tenant_a), tenant_storage_root(tenant=tenant_b), f"acme__{slug}"
    )
    runs = f"/api/workflows/{slug}/runs"

    listed = editor_api.get(f"{runs}/manual__1/results/").json()
    assert sorted((f["task_id"], f["path"]) for f in listed) == sorted(("a", p) for p in planted["good"])
    assert editor_api.get(f"{runs}/manual__1/results/?task_id=c").json() == []
    assert editor_api.get(f"{runs}/manual__evil/results/").json() == []

    for relative, content in planted["good"].items():
        response = editor_api.get(f"{runs}/manual__1/results/a/{relative}")
        assert response.status_code == 200, relative
        assert b"".join(response.streaming_content) == content
        assert response["Content-Length"] == str(len(content))
    for evil in planted["evil"]:
        response = editor_api.get(f"{runs}/manual__1/results/a/{evil}")
        assert response.status_code == 404, (evil, response.status_code)
        assert HOSTILE_SECRET.encode() not in response.content and b"root:" not in response.content
    for url in (
        f"{runs}/manual__1/results/b/result.json",
        f"{runs}/manual__1/results/c/secret.txt",
        f"{runs}/manual__evil/results/a/etc/passwd",
        f"{runs}/manual__evil/results/etc/passwd",
    ):
        assert editor_api.get(url).status_code == 404, url

    from workflows.results import task_result

    with tenant_context(tenant_a):
        workflow = Workflow.objects.get(slug=slug)
        assert task_result(tenant=tenant_a, workflow=workflow, run_id="manual__1", task_id="b") is None
        assert task_result(tenant=tenant_a, workflow=workflow, run_id="manual__1", task_id="c") is None
        assert task_result(tenant=tenant_a, workflow=workflow, run_id="manual__1", task_id="a")["status"] == "success"


def test_it_lists_and_reads_workflows_in_a_constant_number_of_queries(
    tenant_a, editor_api, echo, django_assert_max_num_queries
):
    for i in range(12):
        assert post(editor_api, "/api/workflows/", {"name": f"Counted {i}", "spec": chain_spec()}).status_code == 201
    editor_api.get("/api/workflows/")  # the token's last_used_at was written by the posts
    # The domain, the token with its user and role, the page with the total count (no search_path SETs: the
    # connection is on this tenant already); then the workflow for one.
    with django_assert_max_num_queries(3):
        listed = editor_api.get("/api/workflows/")
    assert listed.status_code == 200 and listed.json()["count"] == 12
    with django_assert_max_num_queries(3):
        assert editor_api.get(f"/api/workflows/{listed.json()['results'][0]['slug']}/").status_code == 200


def test_it_writes_workflows_exactly_as_the_declared_serializer_fields_would(tenant_a, editor_api, echo):
    from rest_framework import renderers, serializers

    from flowui.renderers import JSONRenderer
    from workflows import selectors
    from workflows import serializers as s

    slug = post(editor_api, "/api/workflows/", {"name": "Shape", "spec": chain_spec()}).json()["slug"]
    with tenant_context(tenant_a):
        Workflow.objects.filter(slug=slug).update(deploy_state=DeployState.FAILED, deploy_error="boom")
        workflow = selectors.workflow_get(slug=slug)
        for serializer_class in (s.WorkflowSerializer, s.WorkflowDetailSerializer):
            serializer = serializer_class(workflow, context={"tenant": tenant_a})
            # DRF's generic field-by-field output, which the OpenAPI schema describes, as DRF's renderer writes
            # it; the serializer hands datetimes to the API's renderer (format=None), so compare what is written.
            generic = serializers.ModelSerializer.to_representation(serializer, workflow)
            written = JSONRenderer().render(serializer.data)
            assert written == renderers.JSONRenderer().render(generic)
            assert list(serializer.data) == serializer_class.Meta.fields
            assert json.loads(written)["created_at"].endswith("Z")


def test_it_pages_with_the_count_in_the_same_query_as_the_rows(tenant_a, editor_api, echo, django_assert_num_queries):
    from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator

    from flowui.pagination import CountedPaginator

    for i in range(5):
        post(editor_api, "/api/workflows/", {"name": f"Paged {i}", "spec": chain_spec()})
    with tenant_context(tenant_a):
        rows = Workflow.objects.order_by("name", "id")
        for number in (1, 2, 3):
            stock = Paginator(rows, 2).page(number)
            expected = ([w.slug for w in stock], stock.has_next())
            with django_assert_num_queries(1):
                page = CountedPaginator(rows, 2).page(number)
                assert ([w.slug for w in page], page.has_next()) == expected and page.paginator.count == 5
        for number, error in ((4, EmptyPage), (0, EmptyPage), ("x", PageNotAnInteger)):
            with pytest.raises(error):
                CountedPaginator(rows, 2).page(number)
        assert [w.slug for w in CountedPaginator(rows, 2, orphans=1).page(2)] == [
            w.slug for w in Paginator(rows, 2, orphans=1).page(2)
        ]
        assert CountedPaginator(rows.none(), 2).page(1).paginator.count == 0
    assert editor_api.get("/api/workflows/?page=9").status_code == 404
    # Found by schemathesis: a page number whose OFFSET overflows PostgreSQL's bigint is a clean 404, not a 500.
    assert editor_api.get(f"/api/workflows/?page={10**20}").status_code == 404
    assert editor_api.get("/api/workflows/?page=1").json()["count"] == 5
