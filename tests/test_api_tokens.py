"""API tokens: self-service through the API, the portal page, the CLI and the admin; role cap, expiry,
revocation and member removal take effect on the next request."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tenants.models import ApiToken
from tenants.services import api_token_create, membership_remove, membership_set


def bearer(key: str, host: str = "acme.localhost") -> Client:
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def test_it_creates_lists_uses_and_revokes_tokens_through_the_api(tenant_a, make_user, tenant_client):
    user = make_user("tok-editor", tenant=tenant_a, role="editor")
    session = tenant_client(tenant_a, user)

    created = post(session, "/api/tokens/", {"name": "ci", "role": "viewer", "expires_in_days": 30})
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == {"id", "name", "role", "prefix", "created_at", "expires_at", "last_used_at", "key"}
    assert body["key"].startswith("flw_") and body["key"][4:12] == body["prefix"] and body["role"] == "viewer"
    assert body["expires_at"] and body["last_used_at"] is None
    row = ApiToken.objects.get(pk=body["id"])
    assert row.key_hash == ApiToken.hash_key(body["key"]) and body["key"] not in (row.key_hash, row.key_prefix)

    # The key works (as viewer: reads yes, writes no), and is never listed again.
    client = bearer(body["key"])
    assert client.get("/api/workflows/").status_code == 200
    assert post(client, "/api/workflows/", {"name": "Nope"}).status_code == 403
    listed = session.get("/api/tokens/").json()
    assert [t["id"] for t in listed] == [body["id"]] and "key" not in listed[0]
    assert listed[0]["last_used_at"] is not None

    # A token may create a token, but not above its own (capped) role.
    refused = post(client, "/api/tokens/", {"name": "up", "role": "editor"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid" and "role" in refused.json()["fields"]
    assert post(session, "/api/tokens/", {"name": "up", "role": "admin"}).status_code == 400  # editor < admin

    # Someone else's token is not yours to see or revoke.
    other = make_user("tok-other", tenant=tenant_a, role="admin")
    other_token, _ = api_token_create(user=other, tenant=tenant_a, name="theirs", role="admin")
    assert session.delete(f"/api/tokens/{other_token.pk}/").status_code == 404
    assert [t["id"] for t in session.get("/api/tokens/").json()] == [body["id"]]

    assert session.delete(f"/api/tokens/{body['id']}/").status_code == 204
    gone = client.get("/api/workflows/")
    assert gone.status_code == 401 and gone.json()["error"] == "authentication_failed"


def test_it_refuses_bad_token_requests_with_clear_400s(tenant_a, make_user, tenant_client):
    session = tenant_client(tenant_a, make_user("tok-bad", tenant=tenant_a, role="admin"))
    for data, field in (
        ({"role": "viewer"}, "name"),
        ({"name": "x", "role": "owner"}, "role"),
        ({"name": "x", "role": "viewer", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x", "role": "viewer", "expires_in_days": "soon"}, "expires_in_days"),
        ({"name": "x" * 101, "role": "viewer"}, "name"),
    ):
        response = post(session, "/api/tokens/", data)
        assert response.status_code == 400, (data, response.content)
        assert response.json()["error"] == "invalid" and field in response.json()["fields"], response.json()
    assert session.delete("/api/tokens/999999/").status_code == 404
    assert Client(HTTP_HOST="acme.localhost").get("/api/tokens/").status_code in (401, 403)


def test_it_caps_a_token_by_the_users_current_role_and_kills_it_with_the_membership(tenant_a, make_user):
    user = make_user("tok-cap", tenant=tenant_a, role="admin")
    _, key = api_token_create(user=user, tenant=tenant_a, name="admin token", role="admin")
    client = bearer(key)
    assert post(client, "/api/workflows/", {"name": "Capped one"}).status_code == 201

    membership_set(user=user, tenant=tenant_a, role="viewer")  # demoted: the token reads only
    assert client.get("/api/workflows/").status_code == 200
    assert post(client, "/api/workflows/", {"name": "Capped two"}).status_code == 403

    membership_remove(user=user, tenant=tenant_a)
    assert client.get("/api/workflows/").status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_it_takes_the_role_from_the_membership_of_the_requests_tenant(tenant_a, tenant_b, make_user):
    """A member of two tenants: the token works only on its own tenant's domain, with the role the user holds
    there (the membership join is restricted to the request's tenant, not any of the user's memberships)."""
    user = make_user("tok-two", tenant=tenant_a, role="viewer")
    membership_set(user=user, tenant=tenant_b, role="owner")
    _, a_key = api_token_create(user=user, tenant=tenant_a, name="a", role="viewer")
    _, b_key = api_token_create(user=user, tenant=tenant_b, name="b", role="admin")
    b_host = f"{tenant_b.schema_name}.localhost"
    assert bearer(b_key).get("/api/workflows/").status_code == 401  # B's token on A's domain
    assert bearer(a_key, host=b_host).get("/api/workflows/").status_code == 401  # A's token on B's domain
    assert post(bearer(a_key), "/api/workflows/", {"name": "Not as viewer"}).status_code == 403
    assert post(bearer(b_key, host=b_host), "/api/workflows/", {"name": "As admin in B"}).status_code == 201


def test_it_refuses_an_expired_token_at_once(tenant_a, make_user):
    user = make_user("tok-exp", tenant=tenant_a, role="editor")
    token, key = api_token_create(user=user, tenant=tenant_a, name="short", role="editor", expires_in_days=1)
    assert bearer(key).get("/api/workflows/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(key).get("/api/workflows/")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_it_authenticates_a_token_in_a_constant_number_of_queries(tenant_a, make_user, django_assert_max_num_queries):
    user = make_user("tok-q", tenant=tenant_a, role="viewer")
    _, key = api_token_create(user=user, tenant=tenant_a, role="viewer")
    client = bearer(key)
    client.get("/api/tokens/")  # first use writes last_used_at
    # 3 to find the tenant (search_path, domain, search_path), then token+user+membership role in one query,
    # and the list; no last_used_at write within a minute of the previous one.
    with django_assert_max_num_queries(5):
        assert client.get("/api/tokens/").status_code == 200


def test_it_manages_tokens_on_the_portal_page(tenant_a, make_user, tenant_client):
    user = make_user("tok-portal", tenant=tenant_a, role="viewer")
    page = tenant_client(tenant_a, user)
    html = page.get("/settings/tokens/").content.decode()
    assert "Create a token" in html and 'value="admin"' not in html  # a viewer offers viewer only

    created = page.post("/settings/tokens/", {"name": "laptop", "role": "viewer", "expires_in_days": ""})
    assert created.status_code == 200
    token = ApiToken.objects.get(user=user, name="laptop")
    key = created.content.decode().split('id="new-token-key" value="')[1].split('"')[0]
    assert ApiToken.hash_key(key) == token.key_hash
    assert key not in page.get("/settings/tokens/").content.decode()  # shown once
    assert bearer(key).get("/api/workflows/").status_code == 200

    bad = page.post("/settings/tokens/", {"name": "x", "role": "editor"})
    assert bad.status_code == 400 and "at most yours" in bad.content.decode()

    assert page.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    assert bearer(key).get("/api/workflows/").status_code == 401


def test_it_creates_a_token_from_the_command_line(tenant_a, make_user):
    make_user("tok-cli", tenant=tenant_a, role="editor")
    out = StringIO()
    call_command(
        "token_create",
        "--tenant",
        "acme",
        "--user",
        "tok-cli",
        "--role",
        "editor",
        "--expires-in-days",
        "7",
        stdout=out,
        stderr=StringIO(),
    )
    key = out.getvalue().strip()
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert token.role == "editor" and token.expires_at is not None
    assert bearer(key).get("/api/workflows/").status_code == 200


def test_it_adds_a_token_in_the_admin_and_shows_the_key_once(tenant_a, make_user, django_user_model):
    user = make_user("tok-admin", tenant=tenant_a, role="editor")
    staff = django_user_model.objects.create_superuser("tok-root", "tok-root@example.com", "pw")
    admin = Client(HTTP_HOST="localhost")
    admin.force_login(staff)
    assert admin.get("/admin/tenants/apitoken/add/").status_code == 200
    response = admin.post(
        "/admin/tenants/apitoken/add/",
        {"user": user.pk, "tenant": tenant_a.pk, "name": "from admin", "role": "viewer", "expires_in_days": ""},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    token = ApiToken.objects.get(user=user, name="from admin")
    key = "flw_" + text.split("flw_")[1].split(" ")[0]
    assert token.key_hash == ApiToken.hash_key(key) and token.key_hash != ApiToken.hash_key("")
    assert bearer(key).get("/api/workflows/").status_code == 200
    assert key not in admin.get(f"/admin/tenants/apitoken/{token.pk}/change/").content.decode()
