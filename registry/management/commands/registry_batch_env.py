"""List a tenant's Batch job definitions (aws mode), optionally creating them for every operator version:

    manage.py registry_batch_env --tenant acme [--ensure --job-role-arn ARN --efs-access-point-id fsap-...]

One `<definition name> <definition arn> <queue arn>` line per operator version. Deploys create what their batch
nodes need; --ensure creates them all ahead (the role and access point default to the tenant's provisioned
resources). Airflow needs no setting per definition: the runtime finds them by name (contracts.batch_job_names).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from flowui.lib.aws import AwsError
from registry import selectors, services
from tenants.models import Tenant


class Command(BaseCommand):
    help = "List a tenant's Batch job definitions (optionally create them for every operator version)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant schema name")
        parser.add_argument("--ensure", action="store_true", help="Create missing job definitions first")
        parser.add_argument("--job-role-arn", default="")
        parser.add_argument("--efs-access-point-id", default="")
        parser.add_argument("--efs-file-system-id", default="")
        parser.add_argument("--compute-environment", default="")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(schema_name=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        if options["ensure"]:
            resources = getattr(tenant, "resources", None)
            try:
                services.batch_definitions_ensure_for_tenant(
                    tenant=tenant,
                    job_role_arn=options["job_role_arn"] or getattr(resources, "role_arn", ""),
                    efs_access_point_id=options["efs_access_point_id"] or getattr(resources, "access_point_id", ""),
                    efs_file_system_id=options["efs_file_system_id"] or getattr(resources, "efs_file_system_id", ""),
                    compute_environment=options["compute_environment"],
                )
            except (ValidationError, AwsError) as exc:
                raise CommandError(" ".join(getattr(exc, "messages", [str(exc)])))
        for name, definition_arn, queue_arn in selectors.batch_job_definitions(tenant=tenant):
            self.stdout.write(f"{name} {definition_arn} {queue_arn}")
