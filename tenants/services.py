"""Writes about tenants: creation, memberships, API tokens."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.models import ApiToken, Domain, Membership, Role, Tenant

_SCHEMA_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
RESERVED_SCHEMAS = {"public", "information_schema", "base_tenant", "pg_catalog"}


def tenant_domain_for(schema_name: str) -> str:
    """`acme_corp` -> `acme-corp.localhost` (Django rejects `_` in host names)."""
    return f"{schema_name.replace('_', '-')}.{settings.FLOWUI_TENANT_DOMAIN_SUFFIX}"


def public_tenant_ensure() -> Tenant:
    tenant = Tenant.objects.filter(schema_name=settings.PUBLIC_SCHEMA_NAME).first()
    if tenant is None:
        tenant = Tenant(schema_name=settings.PUBLIC_SCHEMA_NAME, name="Platform")
        tenant.save(verbosity=0)
    Domain.objects.get_or_create(
        domain=settings.FLOWUI_PUBLIC_DOMAIN, defaults={"tenant": tenant, "is_primary": True}
    )
    for extra in ("127.0.0.1",):
        Domain.objects.get_or_create(domain=extra, defaults={"tenant": tenant, "is_primary": False})
    return tenant


@transaction.atomic
def tenant_create(*, schema_name: str, name: str, domain: str | None = None) -> Tenant:
    """Create a tenant (schema + domain). Provisioning of storage and cloud resources follows it."""
    if not _SCHEMA_RE.match(schema_name) or schema_name in RESERVED_SCHEMAS:
        raise ValidationError(
            {"schema_name": "Use 2-41 lower-case letters, digits or '_', starting with a letter."}
        )
    if Tenant.objects.filter(schema_name=schema_name).exists():
        raise ValidationError({"schema_name": f"A tenant with schema {schema_name!r} exists already."})
    domain = domain or tenant_domain_for(schema_name)
    if Domain.objects.filter(domain=domain).exists():
        raise ValidationError({"domain": f"The domain {domain!r} is taken."})
    tenant = Tenant(schema_name=schema_name, name=name)
    tenant.save(verbosity=0)
    Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    return tenant


def tenant_ensure(*, schema_name: str, name: str, domain: str | None = None) -> Tenant:
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    return tenant or tenant_create(schema_name=schema_name, name=name, domain=domain)


def membership_set(*, user, tenant: Tenant, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; expected one of {', '.join(Role.values)}."})
    membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    return membership


def membership_remove(*, user, tenant: Tenant) -> None:
    Membership.objects.filter(user=user, tenant=tenant).delete()


def api_token_create(*, user, tenant: Tenant, name: str = "default") -> tuple[ApiToken, str]:
    """Returns the token row and the key, which is shown once and never stored in clear."""
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=user, tenant=tenant, name=name, key_prefix=key[4:12], key_hash=ApiToken.hash_key(key)
    )
    return token, key
