"""Delete a tenant in two steps: without --confirm its data is archived (and it is blocked), nothing removed;
with --confirm its cloud resources, files and schema are removed (the archive is kept)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from flowui.lib.aws import AwsError
from tenants.housekeeping import ArchiveError
from tenants.models import Tenant
from tenants.services import tenant_delete


class Command(BaseCommand):
    help = "Archive a tenant's data; with --confirm, then remove its resources, files and schema."

    def add_arguments(self, parser):
        parser.add_argument("schema_name")
        parser.add_argument("--confirm", action="store_true", help="Remove what the archive step listed.")

    def handle(self, *args, schema_name: str, confirm: bool, **options):
        tenant = Tenant.objects.filter(schema_name=schema_name).first()
        if tenant is None:
            raise CommandError(f"no tenant with schema {schema_name!r}")
        try:
            result = tenant_delete(tenant=tenant, confirm=confirm)
        except (ArchiveError, AwsError, ValidationError, OSError) as exc:
            raise CommandError(f"nothing was removed: {exc}") from None
        self.stdout.write(f"archive: {result['archive']}")
        if confirm:
            for item in result["removed"]:
                self.stdout.write(f"removed {item}")
        else:
            self.stdout.write("would remove (run again with --confirm):")
            for item in result["plan"]:
                self.stdout.write(f"  {item}")
