"""The portal through Django's test client: pages, editor actions (constant SQL queries), roles, settings."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

LOAD_SCHEMA = {
    "properties": {
        "path": {"type": "string", "title": "Path", "description": "CSV file to read."},
        "limit": {"type": "integer", "default": 100, "minimum": 1, "maximum": 1000},
    },
    "required": ["path"],
    "type": "object",
}
LOAD_OUTPUT = {"properties": {"dataset_path": {"type": "string"}, "rows": {"type": "integer"}}, "type": "object"}
CHART_SCHEMA = {
    "properties": {
        "dataset_path": {"type": "string", "minLength": 1},
        "bins": {"type": "integer", "default": 20, "minimum": 1, "maximum": 500},
        "chart_type": {"enum": ["line", "bar"], "type": "string", "default": "line"},
        "normalise": {"type": "boolean", "default": False},
    },
    "required": ["dataset_path"],
    "type": "object",
}
CHART_OUTPUT = {"properties": {"png_path": {"type": "string", "format": "path"}, "points": {"type": "integer"}}}


@pytest.fixture
def operators(db):
    from registry.models import OperatorVersion, Repository

    repository = Repository.objects.create(slug="ui-ops", name="UI operators", url="file:///nowhere")
    load = OperatorVersion.objects.create(
        repository=repository,
        name="load_csv",
        version="1.0.0",
        commit="a" * 40,
        tree_hash="b" * 40,
        input_schema=LOAD_SCHEMA,
        output_schema=LOAD_OUTPUT,
        metadata={"style": {"label": "Load CSV", "colour": "#2f6fed", "icon": "db"}},
    )
    chart = OperatorVersion.objects.create(
        repository=repository,
        name="chart",
        version="1.0.0",
        commit="a" * 40,
        tree_hash="c" * 40,
        input_schema=CHART_SCHEMA,
        output_schema=CHART_OUTPUT,
        metadata={"style": {"label": "Chart", "colour": "#1f9d55", "icon": "ch"}},
    )
    return {"load": load, "chart": chart, "repository": repository}


def node(node_id: str, name: str, x: int = 0, y: int = 0, inputs: dict | None = None) -> dict:
    return {
        "id": node_id,
        "label": node_id,
        "operator": {"repository": "ui-ops", "name": name, "version": "1.0.0"},
        "position": {"x": x, "y": y},
        "inputs": inputs or {},
        "execution_mode": "local",
        "retries": 0,
        "timeout_s": 3600,
    }


def chain_spec(count: int) -> dict:
    nodes = [
        node(
            f"n{i}",
            "load_csv" if i == 0 else "chart",
            i * 220,
            0,
            {"path": {"value": "in.csv"}} if i == 0 else {"dataset_path": {"from": "n0", "field": "dataset_path"}},
        )
        for i in range(count)
    ]
    edges = [{"source": "n0", "target": f"n{i}"} for i in range(1, count)]
    return {
        "nodes": nodes,
        "edges": edges,
        "schedule": None,
        "params": [{"name": "limit", "type": "integer", "default": 5, "description": ""}],
    }


@pytest.fixture
def workflow_factory(tenant_a):
    from workflows import services

    def _make(name="Sales report", spec=None, user=None):
        with tenant_context(tenant_a):
            return services.workflow_create(name=name, user=user, spec=spec)

    return _make


@pytest.fixture
def editor_user(tenant_a, make_user):
    return make_user("eddie", tenant=tenant_a, role="editor")


@pytest.fixture
def viewer_user(tenant_a, make_user):
    return make_user("vera", tenant=tenant_a, role="viewer")


def test_it_shows_the_dashboard_with_workflows_and_repositories(
    tenant_a, tenant_client, viewer_user, operators, workflow_factory
):
    workflow_factory("Sales report")
    response = tenant_client(tenant_a, viewer_user).get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Sales report" in body and "UI operators" in body and "Not deployed" in body
    assert "New workflow" not in body  # viewers cannot create


def test_it_creates_a_workflow_and_opens_the_editor(tenant_a, tenant_client, editor_user, operators):
    client = tenant_client(tenant_a, editor_user)
    response = client.post("/workflows/new/", {"name": "My flow"})
    assert response.status_code == 302 and response["Location"].endswith("/edit/")
    page = client.get(response["Location"]).content.decode()
    assert 'id="canvas"' in page and "Load CSV" in page and "Chart" in page  # palette from the registry
    assert 'data-can-edit="true"' in page and "drawflow.min.js" in page
    assert client.post("/workflows/new/", {"name": " "}).status_code == 400
    # The slug (and so the DAG id `<schema>__<slug>`) never gets the separator, whatever the name.
    response = client.post("/workflows/new/", {"name": "sales__daily"})
    assert response.status_code == 302 and "__" not in response["Location"].split("/")[2]


def test_it_shows_a_viewer_the_editor_read_only(tenant_a, tenant_client, viewer_user, workflow_factory, operators):
    workflow = workflow_factory(spec=chain_spec(2))
    page = tenant_client(tenant_a, viewer_user).get(f"/workflows/{workflow.slug}/edit/").content.decode()
    assert 'data-can-edit="false"' in page
    assert 'data-action="save"' not in page and "palette-item" not in page
    assert 'id="deploy-button"' not in page and 'id="run-button"' not in page


def test_it_adds_a_node_with_the_operator_defaults(tenant_a, tenant_client, editor_user, workflow_factory, operators):
    workflow = workflow_factory()
    client = tenant_client(tenant_a, editor_user)
    response = client.post(
        f"/workflows/{workflow.slug}/editor/add-node/",
        {"operator": operators["chart"].pk, "x": "120.4", "y": "80", "spec_ids": "chart_1"},
    )
    data = response.json()
    assert data["node"]["id"] == "chart_2"
    assert data["node"]["operator"] == {"repository": "ui-ops", "name": "chart", "version": "1.0.0"}
    assert data["node"]["inputs"] == {
        "bins": {"value": 20},
        "chart_type": {"value": "line"},
        "normalise": {"value": False},
    }
    assert data["node"]["position"] == {"x": 120, "y": 80}
    assert data["style"]["colour"] == "#1f9d55"
    missing = client.post(f"/workflows/{workflow.slug}/editor/add-node/", {"operator": "999999"})
    assert missing.status_code == 404 and "not available" in missing.json()["error"]


def test_it_renders_the_node_form_with_type_compatible_upstream_fields(
    tenant_a, tenant_client, editor_user, workflow_factory, operators
):
    workflow = workflow_factory()
    spec = chain_spec(2)
    response = tenant_client(tenant_a, editor_user).post(
        f"/workflows/{workflow.slug}/editor/node-form/", {"spec": json.dumps(spec), "node_id": "n1"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    dataset = body.split('data-field="dataset_path"')[1].split('data-field="bins"')[0]
    assert 'value="n0.dataset_path" selected' in dataset and "n0.rows" not in dataset  # string <- string only
    bins = body.split('data-field="bins"')[1].split('data-field="chart_type"')[0]
    assert "n0.rows" not in bins  # bins is in value mode; offered when switched
    assert "From upstream" in bins and "Run parameter" in bins
    assert '<select id="f-in-chart_type" name="in.chart_type"' in body


def test_it_shows_an_invalid_value_inline_and_keeps_it_until_fixed(
    tenant_a, tenant_client, editor_user, workflow_factory, operators
):
    workflow = workflow_factory()
    client = tenant_client(tenant_a, editor_user)
    spec = chain_spec(2)
    url = f"/workflows/{workflow.slug}/editor/node-update/"
    form = {
        "spec": json.dumps(spec),
        "node_id": "n1",
        "label": "Plot",
        "in.dataset_path.mode": "from",
        "in.dataset_path.from": "n0.dataset_path",
        "in.bins": "900",
        "in.chart_type": "bar",
        "in.normalise": "false",
        "execution_mode": "local",
        "retries": "1",
        "timeout_s": "600",
    }
    response = client.post(url, form)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Must be at most 500." in body and 'class="field invalid kind-integer" data-field="bins"' in body
    assert 'value="900"' in body  # what was typed stays visible
    detail = json.loads(response["HX-Trigger"])["flowui:inputs"]
    assert detail["errors"] == {"inputs.bins": ["Must be at most 500."]}
    assert detail["inputs"]["bins"] == {"value": 900}
    assert detail["inputs"]["dataset_path"] == {"from": "n0", "field": "dataset_path"}
    assert detail["label"] == "Plot" and detail["retries"] == 1 and detail["timeout_s"] == 600

    form["in.bins"] = "30"
    fixed = client.post(url, form)
    detail = json.loads(fixed["HX-Trigger"])["flowui:inputs"]
    assert detail["errors"] == {} and detail["inputs"]["bins"] == {"value": 30}
    assert "Must be at most" not in fixed.content.decode()


def test_it_refuses_loops_self_links_and_duplicate_connections(
    tenant_a, tenant_client, editor_user, workflow_factory, operators
):
    workflow = workflow_factory()
    client = tenant_client(tenant_a, editor_user)
    spec = chain_spec(3)
    url = f"/workflows/{workflow.slug}/editor/connect/"
    assert client.post(url, {"spec": json.dumps(spec), "source": "n1", "target": "n2"}).json()["ok"] is True
    spec["edges"].append({"source": "n1", "target": "n2"})
    loop = client.post(url, {"spec": json.dumps(spec), "source": "n2", "target": "n0"})
    assert loop.status_code == 400 and "loop" in loop.json()["error"]
    assert "itself" in client.post(url, {"spec": json.dumps(spec), "source": "n1", "target": "n1"}).json()["error"]
    assert "already" in client.post(url, {"spec": json.dumps(spec), "source": "n1", "target": "n2"}).json()["error"]
    bad = client.post(url, {"spec": "{not json", "source": "n1", "target": "n2"})
    assert bad.status_code == 400 and "reload" in bad.json()["error"]


def test_it_saves_versions_and_reports_a_conflict(
    tenant_a, tenant_client, editor_user, make_user, workflow_factory, operators
):
    workflow = workflow_factory()
    client = tenant_client(tenant_a, editor_user)
    url = f"/workflows/{workflow.slug}/editor/save/"
    saved = client.post(url, {"spec": json.dumps(chain_spec(2)), "base_version": "1", "message": "two nodes"})
    assert saved.status_code == 200 and saved.json() == {"version": 2}
    stale = client.post(url, {"spec": json.dumps(chain_spec(3)), "base_version": "1"})
    assert stale.status_code == 409
    assert stale.json()["conflict"] is True and "changed meanwhile" in stale.json()["error"]
    checked = client.post(f"/workflows/{workflow.slug}/editor/validate/", {"spec": json.dumps(chain_spec(2))})
    assert checked.json()["errors"]["nodes"] == {}
    broken = chain_spec(2)
    broken["nodes"][1]["inputs"]["bins"] = {"value": 9000}
    errors = client.post(f"/workflows/{workflow.slug}/editor/validate/", {"spec": json.dumps(broken)}).json()["errors"]
    assert "inputs.bins" in errors["nodes"]["n1"]


def _queries(client, url, data) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, data)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


def test_it_keeps_editor_actions_at_a_constant_number_of_queries(
    tenant_a, tenant_client, editor_user, workflow_factory, operators
):
    counts = {}
    for size in (5, 100):
        workflow = workflow_factory(f"Big {size}", spec=chain_spec(size))
        client = tenant_client(tenant_a, editor_user)
        base = f"/workflows/{workflow.slug}/editor/"
        spec = chain_spec(size)
        text = json.dumps(spec)
        ids = ",".join(n["id"] for n in spec["nodes"])
        client.get("/workflows/")  # the connection's first request of this tenant also sets its search_path
        form = {
            "spec": text,
            "node_id": f"n{size - 1}",
            "in.dataset_path.mode": "from",
            "in.dataset_path.from": "n0.dataset_path",
            "in.bins": "12",
            "in.chart_type": "bar",
        }
        counts[size] = {
            "add_node": _queries(client, base + "add-node/", {"operator": operators["chart"].pk, "spec_ids": ids}),
            "update_field": _queries(client, base + "node-update/", form),
            "node_form": _queries(client, base + "node-form/", {"spec": text, "node_id": f"n{size - 1}"}),
            "connect": _queries(client, base + "connect/", {"spec": text, "source": "n1", "target": "n2"}),
            "save": _queries(client, base + "save/", {"spec": text, "base_version": "1"}),
        }
    assert counts[5] == counts[100], counts
    assert max(counts[100].values()) <= 25, counts


def test_it_refuses_editor_actions_to_a_viewer(tenant_a, tenant_client, viewer_user, workflow_factory, operators):
    workflow = workflow_factory(spec=chain_spec(2))
    client = tenant_client(tenant_a, viewer_user)
    spec = json.dumps(chain_spec(2))
    base = f"/workflows/{workflow.slug}"
    for url, data in [
        (f"{base}/editor/add-node/", {"operator": operators["chart"].pk}),
        (f"{base}/editor/node-update/", {"spec": spec, "node_id": "n1"}),
        (f"{base}/editor/connect/", {"spec": spec, "source": "n0", "target": "n1"}),
        (f"{base}/editor/save/", {"spec": spec, "base_version": "1"}),
        (f"{base}/deploy/", {}),
        (f"{base}/run/", {}),
        (f"{base}/settings/", {"name": "x"}),
        (f"{base}/versions/1/restore/", {}),
        (f"{base}/runs/manual__1/cancel/", {}),
        (f"{base}/runs/manual__1/retry/", {"task_id": "n1"}),
        ("/workflows/new/", {"name": "x"}),
    ]:
        assert client.post(url, data).status_code == 403, url
    # Reading is fine, and the node form is there read-only.
    form = client.post(f"{base}/editor/node-form/", {"spec": spec, "node_id": "n1"}).content.decode()
    assert "inert" in form and "Delete node" not in form
    with tenant_context(tenant_a):
        workflow.refresh_from_db()
        assert workflow.current_version.number == 1


def test_it_edits_settings_with_a_cron_preview_and_params(
    tenant_a, tenant_client, editor_user, workflow_factory, operators
):
    workflow = workflow_factory(spec=chain_spec(2))
    client = tenant_client(tenant_a, editor_user)
    preview = client.get("/schedule-preview/", {"schedule_preset": "cron", "schedule_cron": "30 6 * * 1-5"})
    assert "06:30" in preview.content.decode() and "Monday through Friday" in preview.content.decode()
    bad = client.get("/schedule-preview/", {"schedule_preset": "cron", "schedule_cron": "every day"})
    assert "not a cron expression" in bad.content.decode()
    response = client.post(
        f"/workflows/{workflow.slug}/settings/",
        {
            "base_version": "1",
            "name": "Sales v2",
            "schedule_preset": "cron",
            "schedule_cron": "30 6 * * 1-5",
            "start_date": "2025-02-01T00:00",
            "tags": "sales, daily",
            "param_name": ["limit", "region", ""],
            "param_type": ["integer", "string", "string"],
            "param_default": ["7", "emea", ""],
            "param_description": ["", "Region", ""],
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        workflow.refresh_from_db()
        spec = workflow.current_version.spec
    assert workflow.name == "Sales v2" and spec["schedule"] == "30 6 * * 1-5"
    assert spec["params"][0] == {"name": "limit", "type": "integer", "default": 7, "description": ""}
    assert spec["tags"] == ["sales", "daily"] and spec["start_date"].startswith("2025-02-01T00:00:00")
    assert len(spec["nodes"]) == 2  # the graph is kept
    wrong = client.post(
        f"/workflows/{workflow.slug}/settings/",
        {
            "base_version": "2",
            "name": "x",
            "schedule_preset": "",
            "param_name": ["n"],
            "param_type": ["integer"],
            "param_default": ["seven"],
            "param_description": [""],
        },
    )
    assert wrong.status_code == 400 and "is not an integer" in wrong.content.decode()


def test_it_shows_version_history_with_a_diff_and_restores(
    tenant_a, tenant_client, editor_user, workflow_factory, operators
):
    workflow = workflow_factory(spec=chain_spec(2))
    client = tenant_client(tenant_a, editor_user)
    client.post(
        f"/workflows/{workflow.slug}/editor/save/",
        {"spec": json.dumps(chain_spec(3)), "base_version": "1", "message": "third node"},
    )
    history = client.get(f"/workflows/{workflow.slug}/versions/").content.decode()
    assert "third node" in history and "v2" in history
    diff = client.get(f"/workflows/{workflow.slug}/versions/2/").content.decode()
    assert "+ n2 added" in diff and "+ n0 → n2" in diff
    restored = client.post(f"/workflows/{workflow.slug}/versions/1/restore/")
    assert restored.status_code == 302
    with tenant_context(tenant_a):
        workflow.refresh_from_db()
        assert workflow.current_version.number == 3 and len(workflow.current_version.spec["nodes"]) == 2


def test_it_lets_an_admin_manage_members(tenant_a, tenant_client, make_user):
    admin = make_user("ada", tenant=tenant_a, role="admin")
    newcomer = make_user("nina")
    editor = make_user("ed", tenant=tenant_a, role="editor")
    client = tenant_client(tenant_a, admin)
    assert client.post("/settings/members/", {"email": "NINA@example.com", "role": "editor"}).status_code == 302
    from tenants.models import Membership

    assert Membership.objects.get(user=newcomer, tenant=tenant_a).role == "editor"
    unknown = client.post("/settings/members/", {"email": "ghost@example.com", "role": "viewer"})
    assert unknown.status_code == 400 and "No user has the e-mail address" in unknown.content.decode()
    assert client.post("/settings/members/", {"email": "nina@example.com", "role": "owner"}).status_code == 400
    client.post(f"/settings/members/{newcomer.pk}/", {"action": "role", "role": "viewer"})
    assert Membership.objects.get(user=newcomer, tenant=tenant_a).role == "viewer"
    client.post(f"/settings/members/{newcomer.pk}/", {"action": "remove"})
    assert not Membership.objects.filter(user=newcomer, tenant=tenant_a).exists()
    client.post(f"/settings/members/{admin.pk}/", {"action": "remove"})
    assert Membership.objects.filter(user=admin, tenant=tenant_a).exists()  # not yourself
    assert tenant_client(tenant_a, editor).get("/settings/members/").status_code == 403


def test_it_keeps_secret_values_write_only(tenant_a, tenant_client, make_user):
    admin = make_user("ada", tenant=tenant_a, role="admin")
    client = tenant_client(tenant_a, admin)
    assert client.post("/settings/secrets/", {"name": "API_TOKEN", "value": "s3cr3t-value"}).status_code == 302
    page = client.get("/settings/secrets/").content.decode()
    assert "API_TOKEN" in page and "s3cr3t-value" not in page
    from tenants.models_secrets import TenantSecret

    stored = TenantSecret.objects.get(tenant=tenant_a, name="API_TOKEN")
    assert "s3cr3t" not in stored.value_encrypted and stored.value == "s3cr3t-value"
    # Published where operators read it: the tenant's platform-only secrets file (flowui_runtime.secrets).
    from tenants.services_secrets import secrets_file_path

    assert json.loads(secrets_file_path(tenant=tenant_a).read_text()) == {"API_TOKEN": "s3cr3t-value"}
    for bad_name in ("lower case", "PYTHONPATH", "LD_PRELOAD"):  # the same rule as operator metadata
        bad = client.post("/settings/secrets/", {"name": bad_name, "value": "x"})
        assert bad.status_code == 400 and "letters, digits and" in bad.content.decode()
    client.post("/settings/secrets/API_TOKEN/delete/")
    assert not TenantSecret.objects.filter(tenant=tenant_a).exists()
    assert json.loads(secrets_file_path(tenant=tenant_a).read_text()) == {}


def test_it_lists_and_adds_private_repositories(tenant_a, tenant_client, make_user, operators, git_repo, git_http):
    admin = make_user("ada", tenant=tenant_a, role="admin")
    client = tenant_client(tenant_a, admin)
    page = client.get("/settings/repositories/").content.decode()
    assert "UI operators" in page and "platform" in page
    path, _ = git_repo({"README.md": "operators"})
    # A tenant's repository is fetched over http(s) only; the portal shows why a local one is refused.
    refused = client.post(
        "/settings/repositories/",
        {"slug": "acme-ops", "name": "Acme ops", "url": f"file://{path}", "source": "git", "ref": "main"},
    )
    assert (
        refused.status_code == 400
        and "file:// URLs are for platform-wide repositories only" in refused.content.decode()
    )
    git_http.allow()
    response = client.post(
        "/settings/repositories/",
        {"slug": "acme-ops", "name": "Acme ops", "url": git_http.url(), "source": "git", "ref": "main"},
    )
    assert response.status_code == 302
    from registry.models import Repository

    repository = Repository.objects.get(slug="acme-ops")
    assert repository.tenant_id == tenant_a.pk
    duplicate = client.post(
        "/settings/repositories/",
        {"slug": "acme-ops", "name": "x", "url": git_http.url(), "source": "git", "ref": "main"},
    )
    assert duplicate.status_code == 400 and "exists already" in duplicate.content.decode()
    assert client.post("/settings/repositories/acme-ops/pin/", {"ref": "v1.2.0"}).status_code == 302
    repository.refresh_from_db()
    assert repository.ref == "v1.2.0"
    client.post("/settings/repositories/acme-ops/pin/", {"ref": "bad ref"})
    repository.refresh_from_db()
    assert repository.ref == "v1.2.0"
    # Platform repositories are not the tenant's to sync or pin; other tenants' ones do not exist here.
    assert client.post("/settings/repositories/ui-ops/pin/", {"ref": "x"}).status_code == 403
    assert client.post("/settings/repositories/ui-ops/sync/").status_code == 403
    assert client.post("/settings/repositories/acme-ops/sync/").status_code == 302


def test_it_lays_out_the_run_graph_from_saved_positions():
    from workflows.views_runs import graph_layout

    layout = graph_layout(chain_spec(3), {"n0": "success", "n1": "running"})
    states = {n["id"]: n["state"] for n in layout["nodes"]}
    assert states == {"n0": "success", "n1": "running", "n2": "none"}
    assert layout["nodes"][0]["x"] == 10 and len(layout["edges"]) == 2
    assert re.match(r"M\d+(\.\d+)?,\d+", layout["edges"][0])


def test_it_renders_task_results_as_tables_images_sandboxed_html_and_downloads(
    tenant_a, tenant_client, viewer_user, workflow_factory, operators
):
    from flowui_runtime.contracts import run_dir
    from tenants.selectors import tenant_storage_root
    from workflows.selectors import workflow_dag_id

    workflow = workflow_factory(spec=chain_spec(2))
    root = tenant_storage_root(tenant=tenant_a)
    run_id = "manual__2025-01-01T00:00:00+00:00"
    folder = run_dir(root, workflow_dag_id(tenant=tenant_a, workflow=workflow), run_id, "n1")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "table.csv").write_text("region,amount\nnorth,5\n<b>south</b>,7\n")
    (folder / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    (folder / "page.html").write_text("<script>alert(1)</script><p>hi</p>")
    relative = folder.relative_to(root)
    (folder / "result.json").write_text(
        json.dumps(
            {
                "status": "success",
                "duration_s": 1.5,
                "error": None,
                "output": {
                    "table": f"{relative}/table.csv",
                    "png": f"{relative}/chart.png",
                    "page": f"{relative}/page.html",
                    "rows": 2,
                },
                "files": ["table", "png", "page"],
            }
        )
    )
    client = tenant_client(tenant_a, viewer_user)
    base = f"/workflows/{workflow.slug}/runs/{run_id}/tasks/n1"
    body = client.get(f"{base}/results/").content.decode()
    assert "<td>north</td>" in body and "&lt;b&gt;south&lt;/b&gt;" in body
    assert 'class="result-image"' in body and 'sandbox="allow-scripts"' in body
    assert '<pre class="value">2</pre>' in body
    page = client.get(f"{base}/files/", {"path": f"{relative}/page.html"})
    assert page.status_code == 200 and page["Content-Security-Policy"].startswith("sandbox")
    assert page.get("X-Frame-Options", "SAMEORIGIN") == "SAMEORIGIN"
    download = client.get(f"{base}/files/", {"path": f"{relative}/table.csv", "download": "1"})
    assert download["Content-Disposition"].startswith("attachment")
    assert client.get(f"{base}/files/", {"path": "../../../../etc/passwd"}).status_code == 404
    assert client.get(f"{base}/files/", {"path": "/etc/passwd"}).status_code == 404
    missing = client.get(f"/workflows/{workflow.slug}/runs/{run_id}/tasks/n0/results/").content.decode()
    assert "No results for n0 yet." in missing


def test_it_says_so_when_airflow_does_not_answer_on_the_run_page(
    tenant_a, tenant_client, viewer_user, workflow_factory, operators, settings
):
    settings.AIRFLOW_URL = "http://127.0.0.1:9"
    workflow = workflow_factory(spec=chain_spec(2))
    response = tenant_client(tenant_a, viewer_user).get(f"/workflows/{workflow.slug}/runs/manual__1/")
    assert response.status_code == 502 and "Airflow did not answer" in response.content.decode()


def test_it_asks_for_run_params_with_their_defaults(tenant_a, tenant_client, editor_user, workflow_factory, operators):
    workflow = workflow_factory(spec=chain_spec(2))
    client = tenant_client(tenant_a, editor_user)
    page = client.get(f"/workflows/{workflow.slug}/run/").content.decode()
    assert 'name="param_limit" value="5"' in page and "not deployed yet" in page
    bad = client.post(f"/workflows/{workflow.slug}/run/", {"param_limit": "five"})
    assert bad.status_code == 400 and "Enter an integer." in bad.content.decode()
    undeployed = client.post(f"/workflows/{workflow.slug}/run/", {"param_limit": "6"})
    assert undeployed.status_code == 400 and "Deploy the workflow before running it." in undeployed.content.decode()


def test_it_never_follows_a_symlink_planted_in_a_run_folder(
    tenant_a, tenant_b, tenant_client, viewer_user, workflow_factory, operators
):
    """The portal serves results through workflows.results, like the API: only the task's own folder, no
    symlink anywhere on the path, `..` refused; result.json outputs naming planted links show as missing."""
    from tenants.selectors import tenant_storage_root
    from tests.workflows_support import HOSTILE_SECRET, hostile_run_folder
    from workflows.selectors import workflow_dag_id

    workflow = workflow_factory(spec=chain_spec(2))
    root = tenant_storage_root(tenant=tenant_a)
    dag_id = workflow_dag_id(tenant=tenant_a, workflow=workflow)
    planted = hostile_run_folder(root, tenant_storage_root(tenant=tenant_b), dag_id)
    task = planted["task"]
    relative = task.relative_to(root).as_posix()
    files = {
        "csv": "real/data.csv",
        "passwd": "passwd.txt",
        "other": "other.txt",
        "via": "real_link/data.csv",
        "up": "../../../../../etc/passwd",
    }
    (task / "result.json").unlink()
    (task / "result.json").write_text(
        json.dumps(
            {
                "status": "success",
                "error": None,
                "files": list(files),
                "output": {field: f"{relative}/{path}" for field, path in files.items()},
            }
        )
    )
    client = tenant_client(tenant_a, viewer_user)
    base = f"/workflows/{workflow.slug}/runs/manual__1/tasks"

    body = client.get(f"{base}/a/results/").content.decode()
    assert "<td>1</td>" in body  # the real CSV still renders as a table
    assert HOSTILE_SECRET not in body and "root:" not in body
    for relative_path, content in planted["good"].items():
        for path in (relative_path, f"{relative}/{relative_path}"):  # task-relative or as result.json has it
            response = client.get(f"{base}/a/files/", {"path": path})
            assert response.status_code == 200, path
            assert b"".join(response.streaming_content) == (
                content if relative_path != "result.json" else (task / "result.json").read_bytes()
            )
    for evil in [*planted["evil"], *(f"{relative}/{e}" for e in planted["evil"])]:
        response = client.get(f"{base}/a/files/", {"path": evil})
        assert response.status_code == 404, evil
        assert HOSTILE_SECRET.encode() not in response.content and b"root:" not in response.content
    for task_id, path in (("b", "result.json"), ("c", "secret.txt"), ("c", "result.json")):
        assert client.get(f"{base}/{task_id}/files/", {"path": path}).status_code == 404, (task_id, path)
        page = client.get(f"{base}/{task_id}/results/").content.decode()
        assert HOSTILE_SECRET not in page and f"No results for {task_id} yet." in page
    evil_run = client.get(f"/workflows/{workflow.slug}/runs/manual__evil/tasks/a/files/", {"path": "etc/passwd"})
    assert evil_run.status_code == 404
