"""Create an API token for a member of a tenant and print its key (shown this once)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import ApiToken, Tenant
from tenants.selectors import membership_for
from tenants.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USER in TENANT (schema name) and print the key."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Schema name of the tenant.")
        parser.add_argument("--user", required=True, help="Username (or e-mail) of a member of the tenant.")
        parser.add_argument("--role", required=True, choices=ApiToken.TokenRole.values)
        parser.add_argument("--name", default="cli", help="Name of the token (default: cli).")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, tenant: str, user: str, role: str, name: str, expires_in_days, **options):
        tenant_row = Tenant.objects.filter(schema_name=tenant).first()
        if tenant_row is None:
            raise CommandError(f"no tenant with schema {tenant!r}")
        users = get_user_model().objects
        user_row = users.filter(username=user).first() or users.filter(email__iexact=user).first()
        if user_row is None:
            raise CommandError(f"no user {user!r}")
        membership = membership_for(user=user_row, tenant=tenant_row)
        if membership is None:
            raise CommandError(f"{user!r} is not a member of {tenant!r}")
        try:
            token, key = api_token_create(
                user=user_row,
                tenant=tenant_row,
                name=name,
                role=role,
                expires_in_days=expires_in_days,
                max_role=membership.role,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(m for msgs in exc.message_dict.values() for m in msgs)) from None
        self.stderr.write(f"token {token.pk} ({token.role}) for {user_row.get_username()} in {tenant}; key:")
        self.stdout.write(key)
