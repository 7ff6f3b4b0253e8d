"""The template schema new tenants are cloned from: create or migrate it (`--check`: only report)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.schemas import base_schema_ensure, base_schema_name, base_schema_pending_migrations


class Command(BaseCommand):
    help = "Create or migrate the tenant template schema (settings.TENANT_BASE_SCHEMA) when needed."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Exit 1 if the template has pending migrations.")

    def handle(self, *args, check: bool, **options):
        if check:
            pending = sorted(base_schema_pending_migrations())
            if pending:
                names = ", ".join(f"{app}.{name}" for app, name in pending[:10])
                raise CommandError(f"{base_schema_name()}: {len(pending)} pending migration(s): {names}")
            self.stdout.write(f"{base_schema_name()}: current")
            return
        self.stdout.write(f"{base_schema_name()}: {base_schema_ensure(verbosity=options['verbosity'])}")
