"""Platform staff's admin pages and REST API for tenants (public domain, real PostgreSQL, eager Celery)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tenants.models import Tenant
from tenants.services import membership_set, tenant_create


@pytest.fixture
def staff(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    return client


def _volume(schema: str) -> Path:
    path = Path(settings.VOLUME_MOUNT_PATH_HOST) / schema
    shutil.rmtree(path, ignore_errors=True)
    return path


def test_it_creates_a_tenant_in_the_admin_and_provisions_it(staff_client, django_capture_on_commit_callbacks):
    _volume("adm_new")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/tenants/tenant/add/",
            {
                "schema_name": "adm_new",
                "name": "Admin new",
                "domain": "",
                "owner": "root@example.com",
                "airflow_mode": "shared",
                "airflow_url": "",
                "airflow_username": "",
                "airflow_password": "",
                "airflow_dags_path": "",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(schema_name="adm_new")
    assert tenant.memberships.get().user.username == "root" and tenant.memberships.get().role == "owner"
    assert tenant.domains.get().domain == "adm-new.localhost"
    assert {s.name: s.state for s in tenant.provisioning_steps.all()} == {
        "schema": "done",
        "storage": "done",
        "airflow": "done",
    }

    listing = staff_client.get("/admin/tenants/tenant/").content.decode()
    assert "adm_new" in listing and "3/3 done" in listing

    page = staff_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()
    for text in (
        "Retry provisioning",
        "Provisioning steps",
        "storage root",
        "DAG ids start with",
        "adm_new__",
        "Memberships",
    ):
        assert text in page, text


def test_it_shows_admin_form_errors_instead_of_failing(staff_client):
    response = staff_client.post(
        "/admin/tenants/tenant/add/",
        {
            "schema_name": "adm_ded",
            "name": "Dedicated",
            "airflow_mode": "dedicated",
            "airflow_url": "",
            "owner": "root",
        },
    )
    assert response.status_code == 200
    assert "A dedicated Airflow needs its URL." in response.content.decode()
    assert not Tenant.objects.filter(schema_name="adm_ded").exists()


def test_it_retries_a_failed_step_from_the_tenants_page(
    staff_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.VOLUME_MOUNT_PATH_HOST = blocker
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create(schema_name="adm_retry", name="Retry")
    page = staff_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()
    assert "stopped at <b>storage: cannot prepare the storage folders" in page and "Retry provisioning" in page
    assert "1/3 failed" in staff_client.get("/admin/tenants/tenant/").content.decode()

    settings.VOLUME_MOUNT_PATH_HOST = tmp_path / "volume"
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/admin/tenants/tenant/{tenant.pk}/retry-provisioning/")
    assert response.status_code == 302
    assert set(tenant.provisioning_steps.values_list("state", flat=True)) == {"done"}


def test_it_suspends_from_the_admin_and_blocks_members(staff_client, make_user, tenant_client):
    tenant = tenant_create(schema_name="adm_sus", name="Suspend", provision=False)
    member = make_user("member", tenant=tenant, role="viewer")
    staff_client.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [tenant.pk]})
    assert Tenant.objects.get(pk=tenant.pk).status == "suspended"
    assert tenant_client(tenant, member).get("/", HTTP_ACCEPT="application/json").status_code == 403


def test_it_deletes_in_two_steps_archive_first(staff_client, django_capture_on_commit_callbacks):
    root = _volume("adm_del")
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create(schema_name="adm_del", name="Delete")
    first = staff_client.post(
        "/admin/tenants/tenant/", {"action": "archive_and_delete", "_selected_action": [tenant.pk]}
    )
    assert first.status_code == 200
    body = first.content.decode()
    assert "Archive done: confirm the deletion" in body and "adm_del-" in body
    tenant.refresh_from_db()
    assert tenant.status == "archived" and root.exists()  # archived, nothing removed yet

    second = staff_client.post(
        "/admin/tenants/tenant/",
        {"action": "archive_and_delete", "_selected_action": [tenant.pk], "confirm": "yes"},
    )
    assert second.status_code == 302
    assert not Tenant.objects.filter(schema_name="adm_del").exists() and not root.exists()


def test_it_lists_and_creates_tenants_through_the_platform_api(staff_client, django_capture_on_commit_callbacks):
    _volume("api_new")
    with django_capture_on_commit_callbacks(execute=True):
        created = staff_client.post(
            "/api/tenants/", {"schema_name": "api_new", "name": "API new"}, content_type="application/json"
        )
    assert created.status_code == 201, created.content
    assert created.json()["schema_name"] == "api_new"
    detail = staff_client.get("/api/tenants/api_new/").json()
    assert [s["state"] for s in detail["steps"]] == ["done", "done", "done"]
    assert detail["resources"]["storage_root"].endswith("/api_new")
    # The DAG folder the API reports is the platform's, outside the tenant's storage root.
    assert detail["airflow"]["dags_folder"] == str(Path(settings.FLOWUI_DAGS_DIR) / "api_new")
    assert not Path(detail["airflow"]["dags_folder"]).is_relative_to(detail["resources"]["storage_root"])
    listing = staff_client.get("/api/tenants/").json()["results"]
    assert "api_new" in [t["schema_name"] for t in listing]
    assert staff_client.post("/api/tenants/api_new/retry/").json()["resumed_at"] is None

    bad = staff_client.post("/api/tenants/", {"schema_name": "Bad Name", "name": "x"}, content_type="application/json")
    assert bad.status_code == 400 and "schema_name" in bad.json()["fields"]
    taken = staff_client.post("/api/tenants/", {"schema_name": "api_new", "name": "x"}, content_type="application/json")
    assert taken.status_code == 400 and "exists already" in str(taken.json()["fields"])


def test_it_refuses_the_platform_api_to_non_staff(db, tenant_a, make_user):
    user = make_user("plain", tenant=tenant_a, role="owner")
    membership_set(user=user, tenant=tenant_a, role="owner")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    assert client.get("/api/tenants/").status_code == 403
    assert Client(HTTP_HOST="localhost").get("/api/tenants/").status_code == 403


def test_it_refuses_double_underscores_in_schema_names_everywhere(staff_client):
    """DAG ids are `<schema>__<slug>`: a tenant `acme__x` could otherwise claim tenant acme's DAG ids."""
    from io import StringIO

    from django.core.exceptions import ValidationError
    from django.core.management import CommandError, call_command

    message = "&#x27;__&#x27; (two underscores) is not allowed"
    with pytest.raises(ValidationError) as err:
        tenant_create(schema_name="acme__x", name="x", provision=False)
    assert "two underscores" in err.value.message_dict["schema_name"][0]

    page = staff_client.post(
        "/admin/tenants/tenant/add/",
        {"schema_name": "adm__two", "name": "Two", "airflow_mode": "shared", "owner": "root"},
    )
    assert page.status_code == 200 and message in page.content.decode()

    api = staff_client.post(
        "/api/tenants/", {"schema_name": "api__two", "name": "Two"}, content_type="application/json"
    )
    assert api.status_code == 400 and "two underscores" in api.content.decode()

    with pytest.raises(CommandError, match="two underscores"):
        call_command("tenant_create", "cli__two", "Two", stdout=StringIO())
    assert not Tenant.objects.filter(schema_name__contains="__").exists()


def test_it_gives_a_new_tenant_an_owner_created_from_an_e_mail_with_a_reset_link(
    staff_client, django_user_model, django_capture_on_commit_callbacks
):
    form = staff_client.get("/admin/tenants/tenant/add/").content.decode()
    assert "Leave empty for ." not in form and "e.g. acme_corp gives acme-corp.localhost" in form
    base = {"schema_name": "adm_own", "name": "Owned", "domain": "", "airflow_mode": "shared"}
    for owner, error in (
        ("", "Give the owner"),
        ("nobody-here", "No user &#x27;nobody-here&#x27;; give an e-mail address to create one."),
        ("not@an@email", "is not an e-mail address"),
    ):
        page = staff_client.post("/admin/tenants/tenant/add/", {**base, "owner": owner})
        assert page.status_code == 200 and error in page.content.decode(), owner
    assert not Tenant.objects.filter(schema_name="adm_own").exists()

    _volume("adm_own")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/tenants/tenant/add/", {**base, "owner": "New.Owner@Example.com"}, follow=True
        )
    page = response.content.decode()
    tenant = Tenant.objects.get(schema_name="adm_own")
    user = django_user_model.objects.get(email="new.owner@example.com")
    assert not user.has_usable_password() and tenant.memberships.get(user=user).role == "owner"
    link = re.search(r'class="owner-reset-link">(http://adm-own\.localhost/reset/[^<]+/)<', page).group(1)

    owner = Client(HTTP_HOST="adm-own.localhost")
    path = link.split("adm-own.localhost", 1)[1]
    form = owner.get(path, follow=True)
    assert form.status_code == 200 and "Set your password" in form.content.decode()
    done = owner.post(
        form.redirect_chain[-1][0], {"new_password1": "a long new pass 42", "new_password2": "a long new pass 42"}
    )
    assert done.status_code == 302 and done["Location"].startswith("/login/")
    login = owner.post("/login/", {"username": user.username, "password": "a long new pass 42"})
    assert login.status_code == 302, login.content.decode()[:500]
    assert owner.get("/").status_code == 200  # a member: the tenant's dashboard
    reused = Client(HTTP_HOST="adm-own.localhost").get(path, follow=True).content.decode()
    assert "not valid any more" in reused
