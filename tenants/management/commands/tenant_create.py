"""Create a tenant (cloned schema, domain) and provision it: `manage.py tenant_create acme "Acme Inc"`."""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services import tenant_create, tenant_provisioning_run


class Command(BaseCommand):
    help = "Create a tenant and start its provisioning pipeline (or run it here with --sync)."

    def add_arguments(self, parser):
        parser.add_argument("schema_name")
        parser.add_argument("name")
        parser.add_argument("--domain", default=None, help="Default: <schema>.<FLOWUI_TENANT_DOMAIN_SUFFIX>")
        parser.add_argument("--airflow-mode", default=Tenant.AirflowMode.SHARED, choices=Tenant.AirflowMode.values)
        parser.add_argument("--airflow-url", default="")
        parser.add_argument("--airflow-username", default="")
        parser.add_argument(
            "--airflow-password-env", default="", help="Name of an environment variable holding the password."
        )
        parser.add_argument("--airflow-dags-path", default="")
        parser.add_argument("--sync", action="store_true", help="Run the provisioning steps in this process.")

    def handle(self, *args, **options):
        password = ""
        if options["airflow_password_env"]:
            password = os.environ.get(options["airflow_password_env"], "")
            if not password:
                raise CommandError(f"{options['airflow_password_env']}: environment variable is empty or unset")
        try:
            tenant = tenant_create(
                schema_name=options["schema_name"],
                name=options["name"],
                domain=options["domain"],
                airflow_mode=options["airflow_mode"],
                airflow_url=options["airflow_url"],
                airflow_username=options["airflow_username"],
                airflow_password=password,
                airflow_dags_path=options["airflow_dags_path"],
                provision=not options["sync"],
            )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(problems) from None
        creation = getattr(tenant, "schema_creation", None)
        how = f"{creation.method} in {creation.duration_s:.3f} s" if creation else "existing schema"
        self.stdout.write(f"tenant {tenant.schema_name} created (schema: {how})")
        if options["sync"]:
            for step in tenant_provisioning_run(tenant=tenant):
                self.stdout.write(f"  {step.name}: {step.state}{' - ' + step.error if step.error else ''}")
            failed = tenant.provisioning_steps.filter(state="failed").first()
            if failed:
                raise CommandError(f"provisioning stopped at {failed.name}: {failed.error}")
        else:
            self.stdout.write("provisioning enqueued (see the admin for its progress)")
