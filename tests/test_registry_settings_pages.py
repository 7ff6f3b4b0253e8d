"""The tenant admins' repository pages, now the registry's (registry/views_settings.py, same URLs as before)."""

from __future__ import annotations

from django.urls import resolve

from registry.models import Repository


def _repositories(tenant, count: int) -> list[Repository]:
    rows = [
        Repository.objects.create(
            slug=f"pages-{tenant.schema_name}-{i}",
            name=f"Pages ops {i}",
            url=f"https://git.example.com/acme/ops-{i}.git",
            tenant=tenant,
            available_tags=["v1.0.0", "v0.9.0"],
        )
        for i in range(count)
    ]
    Repository.objects.get_or_create(
        slug="pages-platform", defaults={"name": "Pages platform ops", "url": "https://git.example.com/p.git"}
    )
    return rows


def test_it_serves_the_repository_pages_from_the_registry_at_the_same_urls():
    for url, name in [
        ("/settings/repositories/", "tenant_repositories"),
        ("/settings/repositories/acme-ops/sync/", "tenant_repository_sync"),
        ("/settings/repositories/acme-ops/pin/", "tenant_repository_pin"),
        ("/settings/repositories/acme-ops/status/", "tenant_repository_status"),
    ]:
        match = resolve(url, urlconf="flowui.urls_tenant")
        assert match.url_name == name and match.func.__module__ == "registry.views_settings"
    # The other settings pages stay the tenants' own.
    assert resolve("/settings/members/", urlconf="flowui.urls_tenant").func.__module__ == "tenants.views"


def test_it_lists_repositories_in_a_bounded_number_of_queries(
    tenant_a, tenant_client, make_user, django_assert_max_num_queries
):
    _repositories(tenant_a, 12)
    client = tenant_client(tenant_a, make_user("pages-admin", tenant=tenant_a, role="admin"))
    with django_assert_max_num_queries(12):
        page = client.get("/settings/repositories/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<td>Pages ops") == 12 and "Pages platform ops" in html and "platform" in html
    assert 'action="/settings/repositories/pages-acme-0/pin/"' in html  # tenant rows can be pinned
    assert 'action="/settings/repositories/pages-platform/pin/"' not in html  # platform rows cannot


def test_it_answers_the_status_partial_and_refuses_other_tenants_and_bad_slugs(
    tenant_a, tenant_b, tenant_client, make_user, django_assert_max_num_queries
):
    mine = _repositories(tenant_a, 1)[0]
    theirs = _repositories(tenant_b, 1)[0]
    Repository.objects.filter(pk=mine.pk).update(last_sync_state=Repository.SyncState.RUNNING)
    client = tenant_client(tenant_a, make_user("pages-admin2", tenant=tenant_a, role="admin"))
    with django_assert_max_num_queries(8):
        status = client.get(f"/settings/repositories/{mine.slug}/status/", HTTP_HX_REQUEST="true")
    assert status.status_code == 200
    assert f'hx-get="/settings/repositories/{mine.slug}/status/"' in status.content.decode()
    assert client.get(f"/settings/repositories/{theirs.slug}/status/").status_code == 404
    assert client.post(f"/settings/repositories/{theirs.slug}/pin/", {"ref": "v1"}).status_code == 404
    assert client.get("/settings/repositories/a%00b/status/").status_code == 404
    viewer = tenant_client(tenant_a, make_user("pages-viewer", tenant=tenant_a, role="viewer"))
    assert viewer.get("/settings/repositories/").status_code == 403


def test_it_names_the_problem_of_a_bad_pin_without_changing_the_ref(tenant_a, tenant_client, make_user):
    mine = _repositories(tenant_a, 1)[0]
    client = tenant_client(tenant_a, make_user("pages-admin3", tenant=tenant_a, role="admin"))
    answer = client.post(f"/settings/repositories/{mine.slug}/pin/", {"ref": "bad ref"}, follow=True)
    assert answer.status_code == 200
    assert "Give a tag, branch or commit" in answer.content.decode()
    mine.refresh_from_db()
    assert mine.ref == "main"
