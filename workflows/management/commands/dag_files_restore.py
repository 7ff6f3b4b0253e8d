"""Write the DAG file of every deployed workflow whose file is missing, in every tenant (idempotent).

    manage.py dag_files_restore

`make run` calls it after flowui_bootstrap: DAG files left the tenants' storage for FLOWUI_DAGS_DIR, and a new
or emptied DAGs folder must not silently drop deployed workflows. Files are made anew from the deployed
versions, never copied from tenant storage.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from tenants.models import Tenant
from workflows.services import dag_files_restore


class Command(BaseCommand):
    help = "Write missing DAG files of deployed workflows (every tenant)."

    def handle(self, *args, **options):
        total = 0
        for tenant in Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by("schema_name"):
            with tenant_context(tenant):
                written = dag_files_restore(tenant=tenant)
            total += len(written)
            for slug in written:
                self.stdout.write(f"{tenant.schema_name}: wrote the DAG file of {slug}")
        self.stdout.write(f"DAG files restored: {total}")
