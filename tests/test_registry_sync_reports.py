"""Tenant users read their repositories' sync reports (linked from "see sync #N"); never another tenant's."""

from __future__ import annotations

import pytest


@pytest.fixture
def syncs(tenant_a, tenant_b, db):
    from registry.models import Repository, SyncRun

    def make(slug, tenant, error_text):
        repository = Repository.objects.create(slug=slug, name=slug.title(), url="file:///nowhere", tenant=tenant)
        report = {
            "operators": {
                "good": {"status": "synced", "version": "1.0.0"},
                "bad": {"status": "error", "error": error_text},
            },
            "counts": {"synced": 1, "unchanged": 0, "error": 1},
        }
        run = SyncRun.objects.create(repository=repository, state=SyncRun.State.DONE, report=report)
        Repository.objects.filter(pk=repository.pk).update(
            last_sync_state=Repository.SyncState.PARTIAL,
            last_sync_error=f"1 operator(s) have errors; see sync #{run.pk}",
        )
        return run

    return {
        "a": make("acme-ops", tenant_a, "model.py: <script>alert(1)</script> is not a model"),
        "b": make("globex-ops", tenant_b, "globex private error"),
        "platform": make("platform-ops", None, "platform error"),
    }


def test_it_shows_a_member_the_sync_reports_of_its_repositories_only(
    tenant_a, tenant_client, make_user, syncs, django_assert_max_num_queries
):
    client = tenant_client(tenant_a, make_user("sync-viewer", tenant=tenant_a, role="viewer"))
    with django_assert_max_num_queries(8):
        listing = client.get("/operators/syncs/")
    page = listing.content.decode()
    assert listing.status_code == 200
    assert f'href="/operators/syncs/{syncs["a"].pk}/"' in page and f"/operators/syncs/{syncs['platform'].pk}/" in page
    assert "Globex" not in page and f"/operators/syncs/{syncs['b'].pk}/" not in page
    report = client.get(f"/operators/syncs/{syncs['a'].pk}/")
    body = report.content.decode()
    assert report.status_code == 200 and "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert "1 operator error" in body and "<code>bad</code>" in body
    other = client.get(f"/operators/syncs/{syncs['b'].pk}/")
    assert other.status_code == 404 and "globex private error" not in other.content.decode()
    filtered = client.get("/operators/syncs/", {"repository": "globex-ops"}).content.decode()
    assert "No syncs yet." in filtered and "globex private error" not in filtered
    partial = client.get(f"/operators/syncs/{syncs['a'].pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'class="sync-run"' in partial  # the polling partial stays as it was


def test_it_links_see_sync_n_in_repository_errors_to_the_report(tenant_a, tenant_client, make_user, syncs):
    client = tenant_client(tenant_a, make_user("sync-admin", tenant=tenant_a, role="admin"))
    page = client.get("/settings/repositories/").content.decode()
    assert f'see <a href="/operators/syncs/{syncs["a"].pk}/">sync #{syncs["a"].pk}</a>' in page
