"""Print the environment Airflow needs for a tenant's Batch jobs (aws mode):

    manage.py registry_batch_env --tenant acme [--ensure --job-role-arn ARN --efs-access-point-id fsap-...]

One `AWS_BATCH_JOB_DEFINITION_{name}_{version}=arn` and `AWS_BATCH_JOB_QUEUE_{name}_{version}=arn` line per
operator version. With --ensure, missing job definitions (and the tenant's queue) are created first; the role
and access point default to the tenant's provisioned resources.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from flowui.lib.aws import AwsError
from registry import selectors, services
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Print AWS_BATCH_JOB_DEFINITION_*/AWS_BATCH_JOB_QUEUE_* lines for a tenant (optionally create them)."

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
        for key, value in selectors.batch_environment(tenant=tenant).items():
            self.stdout.write(f"{key}={value}")
