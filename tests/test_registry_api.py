"""Registry REST API and catalog pages on tenant domains (real database, real git, real sync)."""

from __future__ import annotations

import pytest

from registry import services
from registry.models import Repository, SyncRun
from tests.test_registry_sync import GOOD_MODEL, good_metadata, operator_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(git_repo, git_http, tenant_a):
    """A platform-wide repository (2 operators, one broken) and a private one of tenant A, both synced."""
    files = operator_files("shout", metadata=good_metadata("shout") | {"tags": ["text", "fun"]})
    files |= operator_files("broken", model="raise ValueError('nope')\n")
    public_path, _ = git_repo(files, name="public")
    git_repo(operator_files("acme_only", metadata=good_metadata("acme_only")), name="private")
    public = services.repository_create(slug="public-ops", name="Public ops", url=f"file://{public_path}")
    git_http.allow()  # a tenant's repository is fetched over http(s) only: the test's git server is allow-listed
    private = services.repository_create(slug="acme-ops", name="Acme ops", url=git_http.url("private"), tenant=tenant_a)
    services.repository_sync_now(repository=public)
    services.repository_sync_now(repository=private)
    return public, private


def test_it_lists_only_operators_the_tenant_can_see(synced, tenant_a, tenant_b, make_user, tenant_client):
    alice = make_user("alice", tenant=tenant_a)
    bob = make_user("bob", tenant=tenant_b)
    data = tenant_client(tenant_a, alice).get("/api/operators/").json()
    assert {(o["repository"], o["name"]) for o in data["results"]} == {
        ("public-ops", "shout"),
        ("acme-ops", "acme_only"),
    }
    data = tenant_client(tenant_b, bob).get("/api/operators/").json()
    assert {o["name"] for o in data["results"]} == {"shout"}
    response = tenant_client(tenant_b, bob).get("/api/operators/acme-ops/acme_only/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert {r["slug"] for r in tenant_client(tenant_b, bob).get("/api/repositories/").json()["results"]} == {
        "public-ops"
    }
    # Search and tags.
    data = tenant_client(tenant_a, alice).get("/api/operators/?tag=fun").json()
    assert [o["name"] for o in data["results"]] == ["shout"]
    data = tenant_client(tenant_a, alice).get("/api/operators/?q=ACME").json()
    assert [o["name"] for o in data["results"]] == ["acme_only"]


def test_it_serves_an_operator_with_schemas_versions_and_its_sync_error(synced, tenant_a, make_user, tenant_client):
    client = tenant_client(tenant_a, make_user("alice", tenant=tenant_a))
    data = client.get("/api/operators/public-ops/shout/").json()
    assert data["latest"]["input_schema"]["properties"]["text"]["description"] == "Text to shout."
    assert [v["version"] for v in data["versions"]] == ["1.0.0"]
    assert data["sync_error"] is None
    version = client.get(f"/api/operator-versions/{data['latest']['id']}/").json()
    assert version["metadata"]["style"]["label"] == "Shout"
    runs = client.get("/api/sync-runs/?repository=public-ops").json()["results"]
    assert runs[0]["operator_errors"] == {"broken": "model.py line 1: ValueError: nope"}
    assert runs[0]["progress_done"] == runs[0]["progress_total"] == 2


def test_it_lets_a_tenant_admin_sync_its_private_repository_only(
    synced, tenant_a, make_user, tenant_client, git_repo, django_capture_on_commit_callbacks
):
    public, private = synced
    viewer = tenant_client(tenant_a, make_user("vera", tenant=tenant_a, role="viewer"))
    admin = tenant_client(tenant_a, make_user("adam", tenant=tenant_a, role="admin"))
    assert viewer.post("/api/repositories/acme-ops/sync/").status_code == 403
    response = admin.post("/api/repositories/public-ops/sync/")
    assert response.status_code == 403 and "platform staff" in response.json()["detail"]

    git_repo(operator_files("acme_only", metadata=good_metadata("acme_only", "2.0.0")), name="private")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/api/repositories/acme-ops/sync/")
    assert response.status_code == 202
    status = admin.get(f"/api/sync-runs/{response.json()['id']}/").json()
    assert status["state"] == "done" and status["counts"]["synced"] == 1
    data = admin.get("/api/operators/acme-ops/acme_only/").json()
    assert [v["version"] for v in data["versions"]] == ["2.0.0", "1.0.0"]


def test_it_creates_a_private_repository_with_clear_errors(
    tenant_a, make_user, tenant_client, git_repo, git_http, django_capture_on_commit_callbacks
):
    admin = tenant_client(tenant_a, make_user("adam", tenant=tenant_a, role="admin"))
    response = admin.post(
        "/api/repositories/", {"slug": "x", "name": "X", "url": "ftp://nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    git_repo(operator_files("mine", model=GOOD_MODEL))
    git_http.allow()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/api/repositories/",
            {"slug": "mine", "name": "Mine", "url": git_http.url(), "access_token": "tok-4711"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.json()
    assert "access_token" not in response.json() and "tok-4711" not in response.content.decode()
    repository = Repository.objects.get(slug="mine")
    assert repository.tenant == tenant_a and repository.access_token == "tok-4711"
    assert repository.sync_runs.get().state == SyncRun.State.DONE


def test_it_renders_the_catalog_search_and_operator_page(synced, tenant_a, make_user, tenant_client):
    client = tenant_client(tenant_a, make_user("alice", tenant=tenant_a))
    page = client.get("/operators/").content.decode()
    assert "Public ops" in page and "Acme ops" in page and "Shout" in page
    assert 'hx-get="?tag=fun"' in page and 'href="?tag=fun"' in page
    assert "1 operator error" in page  # the broken operator of the platform repository
    partial = client.get("/operators/?q=acme", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="operator-results")
    body = partial.content.decode()
    assert "<html" not in body and "acme_only" in body and "shout" not in body

    page = client.get("/operators/public-ops/shout/").content.decode()
    assert "Text to shout." in page and "The shouted text." in page
    assert 'name="preview.text"' in page  # the generated input form
    preview = client.post("/operators/public-ops/shout/preview/", {"preview.text": "hi", "preview.times": "3"})
    assert "&quot;times&quot;: 3" in preview.content.decode()
    preview = client.post("/operators/public-ops/shout/preview/", {"preview.times": "many"})
    assert "This field is required." in preview.content.decode()
    assert client.get("/operators/acme-ops/nope/").status_code == 404


def test_it_polls_sync_progress_on_the_catalog(synced, tenant_a, make_user, tenant_client):
    _, private = synced
    admin = tenant_client(tenant_a, make_user("adam", tenant=tenant_a, role="admin"))
    pending = SyncRun.objects.create(repository=private, state=SyncRun.State.RUNNING, progress_done=3, progress_total=7)
    body = admin.get(f"/operators/syncs/{pending.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in body and "3 of 7" in body
    SyncRun.objects.filter(pk=pending.pk).update(state=SyncRun.State.DONE)
    body = admin.get(f"/operators/syncs/{pending.pk}/").content.decode()
    assert "every 1s" not in body


def test_it_keeps_other_tenants_sync_runs_hidden(synced, tenant_b, make_user, tenant_client):
    _, private = synced
    run = private.sync_runs.first()
    bob = tenant_client(tenant_b, make_user("bob", tenant=tenant_b, role="admin"))
    assert bob.get(f"/api/sync-runs/{run.pk}/").status_code == 404
    assert bob.get(f"/operators/syncs/{run.pk}/").status_code == 404
    assert bob.post("/operators/repositories/acme-ops/sync/").status_code == 404


def test_it_publishes_a_valid_openapi_schema(tenant_a, make_user, tenant_client):
    response = tenant_client(tenant_a).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/operators/" in paths and "/api/repositories/{slug}/sync/" in paths


def test_it_lets_platform_staff_sync_from_the_admin_and_see_progress_and_errors(
    synced, public_client, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    public, _ = synced
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    public_client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post(
            "/admin/registry/repository/", {"action": "sync_now", "_selected_action": [public.pk]}, follow=True
        )
    assert "Queued 1 sync" in response.content.decode()
    run = public.sync_runs.order_by("-id").first()
    assert run.trigger == "admin" and run.state == SyncRun.State.DONE
    page = public_client.get(f"/admin/registry/syncrun/{run.pk}/change/").content.decode()
    assert "2 of 2" in page
    listing = public_client.get("/admin/registry/syncrun/").content.decode()
    assert "public-ops" in listing or "Public ops" in listing
    first = public.sync_runs.order_by("id").first()
    page = public_client.get(f"/admin/registry/syncrun/{first.pk}/change/").content.decode()
    assert "nope" in page  # the broken operator's error
    running = SyncRun.objects.create(repository=public, state=SyncRun.State.RUNNING, progress_done=1, progress_total=2)
    page = public_client.get(f"/admin/registry/syncrun/{running.pk}/change/").content.decode()
    assert "1 of 2" in page and 'http-equiv="refresh"' in page
    assert 'http-equiv="refresh"' in public_client.get("/admin/registry/syncrun/").content.decode()
    form = public_client.get(f"/admin/registry/repository/{public.pk}/change/").content.decode()
    assert 'name="access_token"' in form


def test_it_renders_every_bundled_operator_page(tenant_a, make_user, tenant_client):
    repository = services.bundled_repository_ensure()
    sync_run = services.repository_sync_now(repository=repository)
    assert sync_run.state == SyncRun.State.DONE and not sync_run.operator_errors, sync_run.operator_errors
    client = tenant_client(tenant_a, make_user("alice", tenant=tenant_a))
    names = [o["name"] for o in client.get("/api/operators/?repository=flowui-bundled").json()["results"]]
    assert len(names) >= 8
    for name in names:
        response = client.get(f"/operators/flowui-bundled/{name}/")
        assert response.status_code == 200, name
        body = response.content.decode()
        assert "Input fields" in body and 'id="form-preview"' in body
        preview = client.post(f"/operators/flowui-bundled/{name}/preview/", {})
        assert preview.status_code == 200, name


def test_it_adds_a_repository_in_the_admin_with_a_write_only_token(public_client, git_repo):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("root2", "root2@example.com", "pw")
    public_client.force_login(staff)
    path, _ = git_repo(operator_files("alpha"))
    data = {
        "slug": "Bad_Slug",
        "name": "Admin ops",
        "url": "ftp://x",
        "source": "git",
        "ref": "main",
        "sync_interval_minutes": 60,
        "access_token": "tok-admin-4711",
    }
    response = public_client.post("/admin/registry/repository/add/", data)
    body = response.content.decode()
    assert response.status_code == 200 and "lower-case letters" in body and "Use an https://" in body
    data |= {"slug": "admin-ops", "url": f"file://{path}"}
    response = public_client.post("/admin/registry/repository/add/", data)
    assert response.status_code == 302
    repository = Repository.objects.get(slug="admin-ops")
    assert repository.access_token == "tok-admin-4711" and repository.tenant is None
    form = public_client.get(f"/admin/registry/repository/{repository.pk}/change/").content.decode()
    assert "tok-admin-4711" not in form


def test_it_pins_a_private_repository_to_a_tag_through_the_api(
    synced, tenant_a, make_user, tenant_client, git_repo, django_capture_on_commit_callbacks
):
    path, tagged = git_repo(operator_files("acme_only", metadata=good_metadata("acme_only", "1.5.0")), name="private")
    git_repo.git(path, "tag", "v1.5")
    git_repo(operator_files("acme_only", metadata=good_metadata("acme_only", "3.0.0")), name="private")
    admin = tenant_client(tenant_a, make_user("adam", tenant=tenant_a, role="admin"))
    response = admin.post("/api/repositories/acme-ops/pin/", {"ref": "bad ref"}, content_type="application/json")
    assert response.status_code == 400 and "ref" in response.json()["fields"]
    assert (
        admin.post("/api/repositories/public-ops/pin/", {"ref": "v1"}, content_type="application/json").status_code
        == 403
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/api/repositories/acme-ops/pin/", {"ref": "v1.5"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["ref"] == "v1.5"
    repository = Repository.objects.get(slug="acme-ops")
    assert repository.last_synced_commit == tagged and repository.available_tags == ["v1.5"]
    data = admin.get("/api/operators/acme-ops/acme_only/").json()
    assert data["latest"]["version"] == "1.5.0"
