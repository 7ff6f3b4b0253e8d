"""flowui.postgresql: timestamps read by psycopg's C loader are the values Django's own loader returns."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from django_tenants.utils import tenant_context
from psycopg import pq

from flowui.postgresql.base import C_LOADER_AVAILABLE, UtcTimestamptzLoader
from workflows.models import Workflow

# Whole seconds, microseconds, both ends of what Django stores, around epoch and DST changes elsewhere.
TIMESTAMPS = [
    "2026-12-03 07:30:51+00",
    "2026-12-03 07:30:51.000001+00",
    "2026-03-29 01:59:59.999999+01",
    "1970-01-01 00:00:00+00",
    "1969-12-31 23:59:59.5-03:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2000-02-29 12:00:00+05:45",
]


def select(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_it_reads_timestamps_with_the_c_loader(db):
    assert C_LOADER_AVAILABLE  # psycopg[binary] is what the lock installs
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
        cursor.execute("SELECT now()")
        in_use = cursor.cursor._tx.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)  # the object psycopg calls
    assert loader is UtcTimestamptzLoader
    assert type(in_use).__module__.startswith("psycopg_binary")
    assert loader.timezone is datetime.UTC  # what Django's create_cursor compares with its own zone

    (value,) = select("SELECT %s::timestamptz", ["2026-12-03 07:30:51.25+02"])[0]
    assert type(value).__name__ == "datetime" and value.tzinfo is datetime.UTC
    assert value == datetime.datetime(2026, 12, 3, 5, 30, 51, 250000, tzinfo=datetime.UTC)


def test_it_returns_what_djangos_loader_returns(db):
    sql = "SELECT unnest(%s::timestamptz[])"
    fast = [row[0] for row in select(sql, [TIMESTAMPS])]

    class DjangoUtcLoader(BaseTzLoader):
        timezone = datetime.UTC

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", DjangoUtcLoader)  # this cursor only
        cursor.execute(sql, [TIMESTAMPS])
        stock = [row[0] for row in cursor.fetchall()]

    assert fast == stock
    assert [value.tzinfo for value in fast] == [datetime.UTC] * len(TIMESTAMPS)
    assert [value.isoformat() for value in fast] == [value.isoformat() for value in stock]


def test_it_refuses_infinity_as_djangos_loader_does(db):
    from django.db import DataError

    with pytest.raises(DataError):
        select("SELECT 'infinity'::timestamptz")


def test_it_reads_model_timestamps_under_a_tenant(tenant_a):
    with tenant_context(tenant_a):
        created = Workflow.objects.create(name="Timestamps", slug="timestamps")
        loaded = Workflow.objects.get(pk=created.pk)
    assert loaded.created_at == created.created_at
    assert loaded.created_at.tzinfo is datetime.UTC


def test_it_prepares_the_hot_lookups_and_keeps_each_tenant_to_its_schema(tenant_a, tenant_b):
    """One prepared statement serves every tenant: PostgreSQL re-parses it under the current search_path. On one
    connection, tenants alternating, each lookup reads its own tenant's row of the same slug."""
    from workflows import selectors

    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            Workflow.objects.create(name=f"Shared slug in {tenant.schema_name}", slug="shared-slug")
    for _ in range(3):
        for tenant in (tenant_a, tenant_b, tenant_a):
            with tenant_context(tenant):
                assert selectors.workflow_get(slug="shared-slug").name == f"Shared slug in {tenant.schema_name}"
    prepared = [row[0] for row in select("SELECT statement FROM pg_prepared_statements")]
    assert any('FROM "workflows_workflow" w' in statement for statement in prepared), prepared
    assert not any(statement.startswith("SET ") for statement in prepared)  # only statements with parameters
    assert not any(statement.startswith("INSERT") for statement in prepared)  # the ORM's own: never prepared


def test_it_logs_prepared_queries_with_their_values(tenant_a):
    from django.test.utils import CaptureQueriesContext

    from flowui.sql_select import fetch_one

    with CaptureQueriesContext(connection) as captured:
        assert fetch_one("SELECT %s::text, %s::int", ["it's", 7]) == ("it's", 7)
    assert captured.captured_queries[-1]["sql"] == "SELECT 'it''s'::text, 7::int"


def test_it_binds_without_preparing_when_told_to(settings):
    settings.FLOWUI_DB_PREPARED_STATEMENTS = False
    assert connection.get_connection_params()["prepare_threshold"] is None
    settings.FLOWUI_DB_PREPARED_STATEMENTS = True
    assert connection.get_connection_params()["prepare_threshold"] > 10**9
