"""The audit log: rows from the services for each recorded action (actor user/token/webhook, IP, object,
detail), GET /api/audit/ with filters (tenant admins), /settings/audit/, and the platform admin's view.
Actions that need Airflow (deploy, run trigger/cancel/clear, task retry, webhook call) are checked in
tests/test_api_webhooks.py against the real Airflow."""

from __future__ import annotations

import json

from django.test import Client

from tenants.models_audit import AuditEvent
from tenants.services import api_token_create
from tests.workflows_support import chain_spec, operator_version_make


def post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def events(tenant, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(tenant=tenant, **filters).order_by("id"))


def test_it_records_api_and_portal_actions_with_actor_and_ip(
    tenant_a, make_user, tenant_client, git_repo, git_http, db
):
    operator_version_make()
    admin = make_user("aud-admin", tenant=tenant_a, role="admin")
    token, key = api_token_create(user=admin, tenant=tenant_a, name="robot", role="admin")
    api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR="203.0.113.7")
    portal = tenant_client(tenant_a, admin)

    slug = post(api, "/api/workflows/", {"name": "Audited", "spec": chain_spec()}).json()["slug"]
    post(api, f"/api/workflows/{slug}/versions/", {"spec": chain_spec("two"), "base_version": 1, "message": "m"})
    post(api, f"/api/workflows/{slug}/pause/", {"paused": True})
    post(api, f"/api/workflows/{slug}/pause/", {"paused": False})
    hook = post(api, f"/api/workflows/{slug}/webhooks/", {"name": "crm"}).json()
    api.delete(f"/api/workflows/{slug}/webhooks/{hook['id']}/")
    created = post(api, "/api/tokens/", {"name": "second", "role": "viewer"}).json()
    api.delete(f"/api/tokens/{created['id']}/")
    api.delete(f"/api/workflows/{slug}/")

    created_event = events(tenant_a, action="workflow.create")[-1]
    assert created_event.actor_type == "token" and created_event.actor_id == str(token.pk)
    assert created_event.actor_name == f"aud-admin (token robot, flw_{token.key_prefix})"
    assert created_event.ip == "203.0.113.7" and created_event.object_id == slug
    assert created_event.object_repr == "Audited"
    assert "version 2: m" in events(tenant_a, action="workflow.save_version")[-1].detail
    for action in (
        "workflow.pause",
        "workflow.unpause",
        "webhook.create",
        "webhook.delete",
        "token.create",
        "token.revoke",
        "workflow.delete",
    ):
        rows = [e for e in events(tenant_a, action=action) if e.actor_id == str(token.pk)]
        assert rows, action
    assert "role viewer" in events(tenant_a, action="token.create")[-1].detail

    # Portal (session): members, secrets, repositories.
    newcomer = make_user("aud-newcomer")
    portal.post("/settings/members/", {"email": newcomer.email, "role": "editor"})
    portal.post(f"/settings/members/{newcomer.pk}/", {"action": "role", "role": "viewer"})
    portal.post(f"/settings/members/{newcomer.pk}/", {"action": "remove"})
    portal.post("/settings/secrets/", {"name": "AUDIT_KEY", "value": "s3cr3t"})
    portal.post("/settings/secrets/AUDIT_KEY/delete/")
    git_repo({"README.md": "x"}, name="aud-repo")
    git_http.allow()  # a tenant's repository is fetched over http(s) only
    created_repo = portal.post(
        "/settings/repositories/",
        {"slug": "aud-repo", "name": "Aud", "url": git_http.url("aud-repo"), "ref": "main", "source": "git"},
    )
    assert created_repo.status_code == 302, created_repo.content
    portal.post("/settings/repositories/aud-repo/sync/")
    portal.post("/settings/repositories/aud-repo/pin/", {"ref": "v1"})

    expected = {
        "member.add": "role editor",
        "member.role_change": "editor -> viewer",
        "member.remove": "revoked",
        "secret.set": "",
        "secret.delete": "",
        "repository.create": "aud-repo/.git @ main",
        "repository.sync": "sync run",
        "repository.pin": "ref v1",
    }
    for action, detail in expected.items():
        row = events(tenant_a, action=action)[-1]
        assert row.actor_type == "user" and row.actor_name == "aud-admin" and row.ip == "127.0.0.1", action
        assert detail in row.detail, (action, row.detail)
    assert "s3cr3t" not in " ".join(e.detail + e.object_repr for e in events(tenant_a))


def test_it_lists_the_audit_log_to_admins_with_filters(tenant_a, tenant_b, make_user, tenant_client, db):
    admin = make_user("aud-list-admin", tenant=tenant_a, role="admin")
    editor = make_user("aud-list-editor", tenant=tenant_a, role="editor")
    make_user("aud-other", tenant=tenant_b, role="owner")  # a row in globex's log
    _, key = api_token_create(user=admin, tenant=tenant_a, name="auditor", role="admin")
    api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")

    page = api.get("/api/audit/?limit=500").json()
    assert page["count"] == len(page["results"]) >= 2 and page["limit"] == 500 and page["offset"] == 0
    assert all(r["object_repr"] != "aud-other" for r in page["results"])  # globex's rows stay there
    adds = api.get("/api/audit/?action=member.add&limit=500").json()["results"]
    assert {r["action"] for r in adds} == {"member.add"}
    assert any(r["object_repr"] == "aud-list-editor" for r in adds)
    mine = api.get("/api/audit/?actor=aud-list-admin (token").json()
    assert mine["count"] == 0  # nothing done through this token yet
    one = api.get("/api/audit/?limit=1&offset=1").json()
    assert len(one["results"]) == 1 and one["count"] == page["count"]

    for bad in ("action=nope", "limit=0", "limit=501", "offset=-1", "limit=x"):
        response = api.get(f"/api/audit/?{bad}")
        assert response.status_code == 400 and response.json()["error"] == "invalid", bad
    _, editor_key = api_token_create(user=editor, tenant=tenant_a, role="editor")
    assert (
        Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {editor_key}").get("/api/audit/").status_code
        == 403
    )

    html = tenant_client(tenant_a, admin).get("/settings/audit/?action=member.add").content.decode()
    assert "aud-list-editor" in html and "member.add" in html and "aud-other" not in html
    assert tenant_client(tenant_a, editor).get("/settings/audit/").status_code == 403


def test_it_shows_every_tenants_audit_log_to_platform_staff(tenant_a, tenant_b, make_user, django_user_model):
    make_user("aud-staff-a", tenant=tenant_a, role="viewer")
    make_user("aud-staff-b", tenant=tenant_b, role="viewer")
    staff = django_user_model.objects.create_superuser("aud-root", "aud-root@example.com", "pw")
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    html = client.get("/admin/tenants/auditevent/?action__exact=member.add").content.decode()
    assert "aud-staff-a" in html and "aud-staff-b" in html
    assert client.get("/admin/tenants/auditevent/add/").status_code == 403


def test_it_lists_the_audit_log_in_a_constant_number_of_queries(tenant_a, make_user, django_assert_max_num_queries):
    admin = make_user("aud-q-admin", tenant=tenant_a, role="admin")
    for n in range(30):
        make_user(f"aud-q-{n}", tenant=tenant_a, role="viewer")  # 30 member.add rows
    _, key = api_token_create(user=admin, tenant=tenant_a, role="admin")
    api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    api.get("/api/audit/")  # first use writes last_used_at
    # 3 to find the tenant, token+user, membership, the page and its count: whatever the page size.
    with django_assert_max_num_queries(7):
        page = api.get("/api/audit/?limit=25&action=member.add").json()
    assert len(page["results"]) == 25 and page["count"] >= 30
