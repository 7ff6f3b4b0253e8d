"""Show a tenant's provisioning steps; `--retry` resumes at the failed step (`--sync`: here, not on Celery)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services import tenant_provisioning_retry, tenant_provisioning_run


class Command(BaseCommand):
    help = "Show (and with --retry resume) the provisioning pipeline of a tenant."

    def add_arguments(self, parser):
        parser.add_argument("schema_name")
        parser.add_argument("--retry", action="store_true", help="Resume at the first step that is not done.")
        parser.add_argument("--sync", action="store_true", help="With --retry: run the steps in this process.")

    def handle(self, *args, schema_name: str, retry: bool, sync: bool, **options):
        tenant = Tenant.objects.filter(schema_name=schema_name).first()
        if tenant is None:
            raise CommandError(f"no tenant with schema {schema_name!r}")
        if retry:
            if sync:
                tenant.provisioning_steps.filter(state="failed").update(state="pending")
                tenant_provisioning_run(tenant=tenant)
            else:
                step = tenant_provisioning_retry(tenant=tenant)
                self.stdout.write(f"resumed at {step.name}" if step else "every step is done")
        for step in tenant.provisioning_steps.order_by("order"):
            when = f"{step.duration_s:.3f} s" if step.duration_s is not None else ""
            line = f"{step.order} {step.name:<13} {step.state:<8} attempts={step.attempts} {when}"
            self.stdout.write(line + (f"\n    {step.error}" if step.error else ""))
        if tenant.provisioning_steps.filter(state="failed").exists():
            raise CommandError("provisioning is stopped at a failed step")
