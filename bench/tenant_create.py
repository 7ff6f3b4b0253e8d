"""Benchmark: tenant creation by cloning the template schema vs running migrations, then 100 tenants.

    .venv/bin/python bench/tenant_create.py [--samples 7] [--tenants 100] [--keep-db]

Sets Django up on its own database (flowui_bench_tenants, or BENCH_DATABASE_URL), migrates it (which also
builds the template schema), then times `tenants.services.tenant_create` (schema, domain and provisioning
records; the provisioning pipeline itself is not run) with FLOWUI_TENANT_CLONE on and off, interleaved so
load changes hit both alike. Same apps, same process. Everything it created is dropped at the end (the
database too, unless --keep-db). The LAST line printed is one JSON object:
{"clone_median_s": .., "migrate_median_s": .., "tenants_100_total_s": ..}
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_DB = "flowui_bench_tenants"
PREFIX = "bench_"


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowui.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from devstack.services import ensure_database, ensure_postgres

    ensure_postgres()
    ensure_database(database_url.rsplit("/", 1)[-1])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", interactive=False, verbosity=0)  # + the template schema (tenants.apps)


def _drop_bench_tenants() -> int:
    from tenants.models import Tenant

    dropped = 0
    for tenant in Tenant.objects.filter(schema_name__startswith=PREFIX):
        tenant.delete(force_drop=True)
        dropped += 1
    return dropped


def _create(schema_name: str, *, clone: bool) -> tuple[float, str]:
    from django.conf import settings

    from tenants.services import tenant_create

    settings.FLOWUI_TENANT_CLONE = clone
    started = time.perf_counter()
    tenant = tenant_create(schema_name=schema_name, name=schema_name, provision=False)
    elapsed = time.perf_counter() - started
    return elapsed, tenant.schema_creation.method


def _clone_function_times(samples: int) -> list[float]:
    from django.db import connection

    from tenants.schemas import base_schema_name, clone_function_ensure

    clone_function_ensure()
    times = []
    for i in range(samples):
        schema = f"{PREFIX}fn{i}"
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [base_schema_name(), schema])
            times.append(time.perf_counter() - started)
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return times


def _drop_database(database_url: str) -> None:
    from django.db import connections

    connections.close_all()
    import psycopg

    name = database_url.rsplit("/", 1)[-1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7, help="tenants per method for the medians")
    parser.add_argument("--tenants", type=int, default=100, help="tenants created by cloning in one go")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DB}")

    _setup(database_url)
    from tenants.schemas import base_schema_ensure, schema_signature
    from tenants.services import public_tenant_ensure

    public_tenant_ensure()
    base_schema_ensure()
    _drop_bench_tenants()
    try:
        # One warm-up of each path (imports, migration loader, prepared catalogs), not counted.
        _create(f"{PREFIX}warm_clone", clone=True)
        _create(f"{PREFIX}warm_migrate", clone=False)
        clone_times, migrate_times = [], []
        for i in range(args.samples):
            elapsed, method = _create(f"{PREFIX}c{i}", clone=True)
            assert method == "clone", method
            clone_times.append(elapsed)
            elapsed, method = _create(f"{PREFIX}m{i}", clone=False)
            assert method == "migrate", method
            migrate_times.append(elapsed)
        # Both ways give the same tables, columns, constraints and indexes.
        assert schema_signature(f"{PREFIX}c0") == schema_signature(f"{PREFIX}m0"), "clone differs from migrate"

        # For the record: django-tenants' own PL/pgSQL clone_schema() (the fallback for templates holding
        # views, functions or triggers), timed alone, without the tenant row.
        function_times = _clone_function_times(3)

        started = time.perf_counter()
        for i in range(args.tenants):
            _create(f"{PREFIX}n{i:03d}", clone=True)
        total = time.perf_counter() - started
        result = {
            "clone_median_s": round(statistics.median(clone_times), 4),
            "migrate_median_s": round(statistics.median(migrate_times), 4),
            "tenants_100_total_s": round(total, 3),
        }
        print(
            f"clone: {', '.join(f'{t:.3f}' for t in clone_times)} s\n"
            f"migrate: {', '.join(f'{t:.3f}' for t in migrate_times)} s\n"
            f"{args.tenants} tenants by cloning: {total:.2f} s ({total / max(args.tenants, 1):.3f} s each)\n"
            f"django-tenants clone_schema() alone: {', '.join(f'{t:.3f}' for t in function_times)} s"
        )
    finally:
        dropped = _drop_bench_tenants()
        print(f"dropped {dropped} benchmark tenants")
        if not args.keep_db:
            _drop_database(database_url)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
