import logging

from django.apps import AppConfig
from django.conf import settings
from django_tenants.signals import schema_migrated

from tenants.schemas import base_schema_ensure, clone_function_ensure


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        schema_migrated.connect(_template_schema_refresh, dispatch_uid="tenants.template_schema_refresh")


_refreshing = False


def _template_schema_refresh(sender, schema_name: str, **kwargs) -> None:
    """After `migrate_schemas` migrated the public schema, bring the tenant template schema up to date too,
    so the next tenant is cloned from current tables (tenants.schemas)."""
    global _refreshing

    if _refreshing or schema_name != settings.PUBLIC_SCHEMA_NAME or not settings.FLOWUI_TENANT_CLONE:
        return

    _refreshing = True
    try:
        base_schema_ensure()
        clone_function_ensure()
    except Exception:
        # The public schema is migrated already; a broken template must not fail that. Tenant creation
        # retries the template and falls back to migrations (tenants.schemas.tenant_schema_create).
        logging.getLogger(__name__).exception("the tenant template schema could not be brought up to date")
    finally:
        _refreshing = False
