"""flowui.sql_select: the hand-written lookups build the same instances as the ORM queries they replace."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from tenants.authentication import _token_lookup
from tenants.models import ApiToken
from tenants.services import api_token_create
from tests.workflows_support import chain_spec, operator_version_make
from workflows import selectors, services
from workflows.models import Workflow


def field_values(instance: Model) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_it_loads_a_workflow_and_its_versions_as_the_orm_does(tenant_a, make_user):
    operator_version_make()
    user = make_user("sql-select", tenant=tenant_a, role="editor")
    with tenant_context(tenant_a):
        created = services.workflow_create(name="Loaded twice", spec=chain_spec(), user=user)
        services.workflow_save_version(workflow=created, spec=chain_spec("two"), base_version=1, user=user)
        Workflow.objects.filter(pk=created.pk).update(
            deployed_version=created.versions.get(number=1), description="ünïcode"
        )

        with CaptureQueriesContext(connection) as queries:
            loaded = selectors.workflow_get(slug=created.slug)
            versions = (loaded.current_version, loaded.deployed_version)  # from the one query, not loaded later
        assert len(queries) == 1
        expected = Workflow.objects.select_related("current_version", "deployed_version").get(pk=created.pk)
        assert field_values(loaded) == field_values(expected)
        assert field_values(versions[0]) == field_values(expected.current_version)
        assert field_values(versions[1]) == field_values(expected.deployed_version)
        assert isinstance(versions[0].spec, dict) and versions[0].spec["nodes"]  # JSONField decoded
        assert loaded._state.adding is False and loaded._state.db == "default"


def test_it_leaves_a_missing_version_none_without_a_query(tenant_a):
    with tenant_context(tenant_a):
        Workflow.objects.create(name="Bare", slug="bare-sql-select")
        loaded = selectors.workflow_get(slug="bare-sql-select")
        with CaptureQueriesContext(connection) as queries:
            assert loaded.current_version is None and loaded.deployed_version is None
        assert len(queries) == 0


def test_it_loads_the_token_and_user_as_the_orm_does(tenant_a, make_user):
    user = make_user("sql-token", tenant=tenant_a, role="viewer")
    token, key = api_token_create(user=user, tenant=tenant_a)
    sql, token_columns, user_columns = _token_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [ApiToken.hash_key(key), tenant_a.id])
        row = cursor.fetchone()
    assert field_values(token_columns.load(row)) == field_values(ApiToken.objects.get(pk=token.pk))
    assert field_values(user_columns.load(row, token_columns.width)) == field_values(
        get_user_model().objects.get(pk=user.pk)
    )
    assert row[-1] == "viewer"


def test_it_pages_the_unfiltered_list_as_the_orm_does(tenant_a):
    with tenant_context(tenant_a):
        for i in range(7):
            Workflow.objects.create(name=f"Paged {i % 3}", slug=f"paged-{i}", description="ü" * i)
        expected = list(selectors.workflows_list())
        rows, total = selectors.workflows_all_pages.page(offset=2, limit=4)
        assert total == len(expected)
        assert [field_values(row) for row in rows] == [field_values(row) for row in expected[2:6]]
        assert [(row.current_version_number, row.deployed_version_number) for row in rows] == [
            (row.current_version_number, row.deployed_version_number) for row in expected[2:6]
        ]
        assert selectors.workflows_all_pages.page(offset=len(expected), limit=4) == ([], 0)


def test_it_builds_rows_through_init_when_a_model_has_init_receivers(tenant_a):
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    with tenant_context(tenant_a):
        Workflow.objects.create(name="Observed", slug="observed")
        post_init.connect(receiver, sender=Workflow)
        try:
            rows, total = selectors.workflows_all_pages.page(offset=0, limit=10)
        finally:
            post_init.disconnect(receiver, sender=Workflow)
        assert total >= 1 and seen == rows and rows[0].current_version_number is None


def test_it_loads_through_init_when_a_model_has_init_receivers(tenant_a):
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    with tenant_context(tenant_a):
        created = Workflow.objects.create(name="Observed once", slug="observed-once")
        post_init.connect(receiver, sender=Workflow)
        try:
            loaded = selectors.workflow_get(slug=created.slug)
        finally:
            post_init.disconnect(receiver, sender=Workflow)
        assert seen == [loaded] and field_values(loaded) == field_values(Workflow.objects.get(pk=created.pk))
        assert loaded._state.adding is False and loaded._state.db == "default"


def test_it_lists_only_the_requests_tenant_with_sql_compiled_under_another(tenant_a, tenant_b, make_user):
    """The unfiltered list's SQL is compiled once per process, whichever tenant asks first: it names no schema,
    so each request reads its own tenant's tables (one connection, tenants alternating)."""
    from tests.test_api_workflows import api_client

    with tenant_context(tenant_a):
        Workflow.objects.create(name="Only in A", slug="only-in-a")
    with tenant_context(tenant_b):
        Workflow.objects.create(name="Only in B", slug="only-in-b")
    on_a = api_client(tenant_a, make_user("compiled-a", tenant=tenant_a, role="viewer"))
    on_b = api_client(tenant_b, make_user("compiled-b", tenant=tenant_b, role="viewer"))
    for _ in range(2):
        for client, mine, theirs in ((on_a, "only-in-a", "only-in-b"), (on_b, "only-in-b", "only-in-a")):
            slugs, url = [], "/api/workflows/"
            while url:  # every page (other tests may have left more than one page of workflows)
                body = client.get(url).json()
                slugs += [row["slug"] for row in body["results"]]
                url = body["next"]
            assert mine in slugs and theirs not in slugs and body["count"] == len(slugs)
