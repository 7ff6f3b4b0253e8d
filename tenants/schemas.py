"""Tenant schemas: created by cloning a migrated template schema ("base_tenant"), or by migrations.

Cloning copies the template's tables, sequences, constraints and its `django_migrations` rows (DATA
mode), so a clone needs no migration run at all. The template is kept current: before every clone the
set of migrations applied in it is compared with the migrations on disk, and a stale template is
migrated first (once; other processes wait on an advisory lock). `migrate_schemas` also brings it up to
date after the public schema is migrated (see `tenants.apps`).

Plain migrations stay available: FLOWUI_TENANT_CLONE=false, or when the template cannot be prepared.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CLONE_SCHEMA_FUNCTION
from django_tenants.utils import quote_schema_name, schema_exists

logger = logging.getLogger(__name__)

# Advisory lock ids (arbitrary constants): the template is migrated under an exclusive lock and cloned
# under a shared one, so a clone never copies a half-migrated template.
_TEMPLATE_LOCK = 727_001
_FUNCTION_LOCK = 727_002


class SchemaError(Exception):
    """A tenant schema could not be created."""


@dataclass(frozen=True)
class SchemaCreation:
    method: str  # "clone" or "migrate"
    duration_s: float
    template: str = ""
    copier: str = ""  # for clones: "tables" or "clone_schema" (see schema_clone_from_base)


def base_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


@lru_cache(maxsize=1)
def _expected_migrations() -> frozenset[tuple[str, str]]:
    """Every migration on disk (the migration files do not change while a process runs)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes)


def _applied_migrations(schema_name: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'django_migrations'",
            [schema_name],
        )
        if cursor.fetchone() is None:
            return set()
        # The schema name is quoted; it comes from settings or a validated tenant.
        cursor.execute(f"SELECT app, name FROM {quote_schema_name(schema_name)}.django_migrations")  # noqa: S608
        return {(app, name) for app, name in cursor.fetchall()}


def base_schema_pending_migrations() -> set[tuple[str, str]]:
    """Migrations on disk that the template schema has not applied (all of them if it does not exist)."""
    name = base_schema_name()
    if not schema_exists(name):
        return set(_expected_migrations())
    return set(_expected_migrations()) - _applied_migrations(name)


def _migrate_schema(schema_name: str, verbosity: int = 0) -> None:
    call_command("migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()


def base_schema_ensure(*, verbosity: int = 0) -> str:
    """Create or migrate the template schema when needed. Returns "created", "migrated" or "current"."""
    if not base_schema_pending_migrations():
        return "current"
    name = base_schema_name()
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK])
    try:
        # Another process may have done it while we waited for the lock.
        if not base_schema_pending_migrations():
            return "current"
        created = not schema_exists(name)
        if created:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {quote_schema_name(name)}")
        _migrate_schema(name, verbosity)
        logger.info("tenant template schema %s %s", name, "created" if created else "migrated")
        return "created" if created else "migrated"
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_TEMPLATE_LOCK])


def _clone_function_sql() -> str:
    db_user = settings.DATABASES["default"].get("USER") or "postgres"
    return CLONE_SCHEMA_FUNCTION.format(db_user=db_user)


def clone_function_ensure() -> None:
    """Install django-tenants' clone_schema() once per version (its script drops and re-creates types, so
    running it for every tenant would be slow and would break concurrent clones)."""
    sql = _clone_function_sql()
    marker = "flowui:" + hashlib.sha256(sql.encode()).hexdigest()[:16]
    query = (
        "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname = 'clone_schema'"
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        row = cursor.fetchone()
        if row and row[0] == marker:
            return
        cursor.execute("SELECT pg_advisory_lock(%s)", [_FUNCTION_LOCK])
        try:
            cursor.execute(query)
            row = cursor.fetchone()
            if not (row and row[0] == marker):
                cursor.execute(sql)
                cursor.execute(f"COMMENT ON FUNCTION public.clone_schema(text, text, cloneparms[]) IS '{marker}'")
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_FUNCTION_LOCK])


def _sequences_reset(schema_name: str) -> None:
    """Point every serial/identity sequence of the clone just past its table's largest id (the template is
    normally empty, but a data migration may have added rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                                                              a.attname)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = %s AND c.relkind = 'r'
              AND pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname) IS NOT NULL
            """,
            [schema_name],
        )
        rows = cursor.fetchall()
        schema = quote_schema_name(schema_name)
        for table, column, sequence in rows:
            if not sequence.startswith(f"{schema}.") and not sequence.startswith(f"{schema_name}."):
                raise SchemaError(f"{schema_name}.{table}.{column}: its sequence {sequence} is not the clone's own")
            qn = connection.ops.quote_name  # names from the catalog, quoted
            cursor.execute(
                f"SELECT setval(%s, COALESCE((SELECT MAX({qn(column)}) FROM {schema}.{qn(table)}), 0) + 1, false)",  # noqa: S608
                [sequence],
            )


def _template_is_plain(cursor, base: str) -> bool:
    """True when the template holds only what Django migrations normally make: tables, their indexes and
    identity sequences. Anything else (views, functions, triggers, types, serial sequences, partitions)
    goes through django-tenants' complete clone_schema() instead."""
    cursor.execute(
        """
        SELECT
          (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(s)s AND c.relkind NOT IN ('r', 'i', 'S'))
        + (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(s)s AND c.relkind = 'S' AND NOT EXISTS (
              SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i'))
        + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(s)s)
        + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = %(s)s AND t.typtype IN ('e', 'd', 'r', 'm'))
        + (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s AND NOT t.tgisinternal)
        + (SELECT count(*) FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(s)s AND pg_get_expr(a.adbin, a.adrelid) LIKE '%%nextval%%')
        """,
        {"s": base},
    )
    return cursor.fetchone()[0] == 0


def _clone_script(cursor, base: str, new: str) -> str:
    """SQL that re-creates the template's tables in `new` with the same names for every constraint and
    index (later migrations refer to them by name), copies the rows, and gives each identity column its own
    sequence, continuing after the copied rows."""
    qn = connection.ops.quote_name
    src, dst = quote_schema_name(base), quote_schema_name(new)
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
        [base],
    )
    tables = [row[0] for row in cursor.fetchall()]
    statements = [f"CREATE SCHEMA {dst}"]
    for table in tables:
        statements.append(
            f"CREATE TABLE {dst}.{qn(table)} (LIKE {src}.{qn(table)} "
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        statements.append(
            f"INSERT INTO {dst}.{qn(table)} OVERRIDING SYSTEM VALUE SELECT * FROM {src}.{qn(table)}"  # noqa: S608
        )
    # Constraints: primary keys and unique ones first (foreign keys need them), then checks, then foreign keys.
    # pg_get_constraintdef qualifies names outside the search path only: with the template first in it,
    # references to its own tables come out unqualified and resolve to the clone's tables below.
    cursor.execute(f"SET LOCAL search_path TO {src}, public")
    cursor.execute(
        """
        SELECT c.relname, con.conname, pg_get_constraintdef(con.oid, true), con.contype
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'c', 'f', 'x')
        ORDER BY CASE con.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 1 WHEN 'c' THEN 2 ELSE 3 END,
                 c.relname, con.conname
        """,
        [base],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
        ORDER BY 1
        """,
        [base],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute("SET LOCAL search_path TO public")
    statements.append(f"SET LOCAL search_path TO {dst}, public")
    for table, name, definition, _kind in constraints:
        statements.append(f"ALTER TABLE {dst}.{qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
    for definition in indexes:
        # "CREATE [UNIQUE] INDEX name ON base.table USING ..." (names unqualified with the template in the path)
        statements.append(definition.replace(f" ON {base}.", f" ON {dst}.", 1).replace(f" ON {src}.", f" ON {dst}.", 1))
    statements.append("SET LOCAL search_path TO public")
    return ";\n".join(statements)


def schema_clone_from_base(schema_name: str) -> str:
    """Clone the (current) template schema into a new schema `schema_name`. Returns how: "tables" (our
    copy of a plain template) or "clone_schema" (django-tenants' complete PL/pgSQL clone)."""
    base_schema_ensure()
    base = base_schema_name()
    connection.set_schema_to_public()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_TEMPLATE_LOCK])
        if schema_exists(schema_name, case_sensitive=False):
            raise SchemaError(f"schema {schema_name!r} exists already")
        if _template_is_plain(cursor, base):
            cursor.execute(_clone_script(cursor, base, schema_name))
            how = "tables"
        else:
            clone_function_ensure()
            cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [base, schema_name])
            how = "clone_schema"
    connection.set_schema_to_public()
    _sequences_reset(schema_name)
    return how


def schema_migrate_new(schema_name: str, verbosity: int = 0) -> None:
    """The plain path: CREATE SCHEMA and run every tenant migration in it."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote_schema_name(schema_name)}")
    _migrate_schema(schema_name, verbosity)


def tenant_schema_create(schema_name: str, *, clone: bool | None = None, verbosity: int = 0) -> SchemaCreation:
    """Create a tenant's schema by cloning (default, FLOWUI_TENANT_CLONE) or by migrations."""
    clone = settings.FLOWUI_TENANT_CLONE if clone is None else clone
    started = time.perf_counter()
    if clone:
        try:
            with transaction.atomic():  # a savepoint: a failed clone leaves the transaction usable
                copier = schema_clone_from_base(schema_name)
            return SchemaCreation("clone", round(time.perf_counter() - started, 4), base_schema_name(), copier)
        except SchemaError:
            raise
        except Exception as exc:  # the template could not be prepared: fall back to migrations
            logger.warning(
                "cloning %s from %s failed (%s); running migrations instead", schema_name, base_schema_name(), exc
            )
            connection.set_schema_to_public()
            started = time.perf_counter()
    schema_migrate_new(schema_name, verbosity)
    return SchemaCreation("migrate", round(time.perf_counter() - started, 4))


def schema_signature(schema_name: str) -> dict[str, list]:
    """The structure of a schema without its name: columns, constraints, indexes, identity columns. Two
    schemas with equal signatures are interchangeable for Django (tests compare a clone with the template)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, ''), is_identity
               FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2""",
            [schema_name],
        )
        columns = [list(row) for row in cursor.fetchall()]
        cursor.execute(
            """SELECT c.relname, con.conname, con.contype, replace(pg_get_constraintdef(con.oid), %s || '.', '')
               FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s ORDER BY 1, 2""",
            [schema_name, schema_name],
        )
        constraints = [list(row) for row in cursor.fetchall()]
        cursor.execute(
            """SELECT tablename, indexname, replace(indexdef, %s || '.', '') FROM pg_indexes
               WHERE schemaname = %s ORDER BY 1, 2""",
            [schema_name, schema_name],
        )
        indexes = [list(row) for row in cursor.fetchall()]
    return {"columns": columns, "constraints": constraints, "indexes": indexes}
