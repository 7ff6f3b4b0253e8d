"""Idempotent first-run set-up: public tenant, demo tenant, admin user (prints its credentials)."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from datasets.selectors import DatasetError
from datasets.services import samples_install
from tenants.models import Role, Tenant
from tenants.schemas import base_schema_ensure
from tenants.services import housekeeping_schedule_ensure, membership_set, public_tenant_ensure, tenant_ensure
from tenants.services_secrets import secrets_publish
from workflows.notifications import notifications_schedule_ensure


class Command(BaseCommand):
    help = "Create the public tenant, the demo tenant (demo.localhost) and an admin user."

    def add_arguments(self, parser):
        parser.add_argument("--admin-username", default="admin")
        parser.add_argument("--admin-email", default="admin@flowui.localhost")

    def handle(self, *args, admin_username: str, admin_email: str, **options):
        public_tenant_ensure()
        # The template new tenants are cloned from, and the beat entry of housekeeping (both idempotent).
        self.stdout.write(f"tenant template schema: {base_schema_ensure()}")
        housekeeping_schedule_ensure()
        notifications_schedule_ensure()  # run notifications: beat polls Airflow for finished runs
        demo = tenant_ensure(schema_name="demo", name="Demo", domain="demo.localhost")
        password_file = Path(settings.BASE_DIR) / "var" / "admin-password"
        user_model = get_user_model()
        user = user_model.objects.filter(username=admin_username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
            user = user_model.objects.create_superuser(admin_username, admin_email, password)
        else:
            password = password_file.read_text().strip() if password_file.exists() else "(unchanged; see var/)"
        membership_set(user=user, tenant=demo, role=Role.OWNER)
        # The demo's sample datasets (new tenants get them when provisioned; files already there are kept).
        try:
            written = samples_install(tenant=demo)
        except (OSError, DatasetError) as exc:
            self.stderr.write(f"sample datasets not copied to the demo tenant: {exc}")
        else:
            self.stdout.write(f"demo sample datasets: {len(written)} copied")
        # Every tenant's secrets where operators read them (rebuilt: FLOWUI_SECRETS_DIR may be new or stale).
        tenants = Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by("schema_name")
        for tenant in tenants:
            secrets_publish(tenant=tenant)
        self.stdout.write(f"tenant secrets published to {settings.FLOWUI_SECRETS_DIR} ({tenants.count()} tenants)")
        self.stdout.write(f"admin user: {admin_username}  password: {password}")
