"""Tenant routing by host name (cheaper on search_path SETs) and who may enter a tenant's domain: members only;
others get a 404 (the tenant's existence is not revealed)."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import Http404, HttpResponseNotFound, JsonResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_tenant_domain_model

from flowui.sql_select import ModelColumns, fetch_one
from tenants.audit import audit_request_reset, audit_request_set
from tenants.models import Domain, Tenant
from tenants.selectors import membership_for


@cache
def _tenant_by_domain() -> tuple[str, ModelColumns[Tenant]]:
    tenant = ModelColumns(Tenant, "t")
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {tenant.sql} FROM {quote(Domain._meta.db_table)} d"  # noqa: S608 (model metadata only)
        f" JOIN {quote(Tenant._meta.db_table)} t ON t.id = d.tenant_id WHERE d.domain = %s"
    )
    return sql, tenant


class TenantRoutingMiddleware(TenantMainMiddleware):
    """django-tenants' routing by host name, without its two `SET search_path` round trips on every request.

    The stock middleware switches the connection to the public schema for the domain lookup, then to the tenant:
    two statements before any work, on every request of a kept-alive connection. Here the lookup runs under
    whatever search path the connection holds when that path ends with the public schema (every tenant path
    FlowUI sets does): the lookup reads tenants_domain and tenants_tenant, which exist in the public schema only
    (the `tenants` app is shared, never a tenant app), so it finds the same rows. When the request's tenant is
    the connection's current one, the path is already right and nothing is issued; another tenant, or a
    connection whose path is unknown (new, rolled back), gets the stock SETs. The lookup itself is SQL written
    once (flowui.sql_select): compiling the stock ORM query cost more than running it, on every request."""

    def get_tenant(self, domain_model, hostname):
        sql, tenant_columns = _tenant_by_domain()
        row = fetch_one(sql, [hostname])
        if row is None:
            raise domain_model.DoesNotExist(f"No domain {hostname!r}.")
        return tenant_columns.load(row)

    def process_request(self, request):
        path = connection.search_path_set_schemas
        if not (path and path[-1] == settings.PUBLIC_SCHEMA_NAME):
            connection.set_schema_to_public()
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound()
        domain_model = get_tenant_domain_model()
        try:
            tenant = self.get_tenant(domain_model, hostname)
        except domain_model.DoesNotExist:
            return self.no_tenant_found(request, hostname)
        tenant.domain_url = hostname
        request.tenant = tenant
        if (
            connection.schema_name == tenant.schema_name
            and connection.include_public_schema
            and connection.search_path_set_schemas
        ):
            connection.tenant = tenant  # this request's row (status, settings); schema and path are unchanged
        else:
            connection.set_tenant(tenant)
        self.setup_url_routing(request)
        return None


# Paths on a tenant domain reachable without a membership.
OPEN_PREFIXES = ("/login/", "/logout/", "/reset/", "/healthz", "/favicon.ico", "/static/", "/api/schema", "/api/docs")


class TenantAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        request.membership = None
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            return self.get_response(request)
        if request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            # DRF authenticates API requests itself (token or session); its permission classes check membership.
            return self.get_response(request)
        if not request.user.is_authenticated:
            if request.path == "/":
                # The tenant's front door is its login page (no redirect hop).

                return LoginView.as_view()(request).render()
            return redirect_to_login(request.get_full_path())
        membership = membership_for(user=request.user, tenant=tenant)
        if membership is None:
            raise Http404("No such page")
        if tenant.status != Tenant.Status.ACTIVE:
            if request.htmx or request.headers.get("Accept", "").startswith("application/json"):
                return JsonResponse({"error": "tenant_suspended", "detail": "This tenant is suspended."}, status=403)

            return render(request, "tenants/suspended.html", {"tenant": tenant}, status=403)
        request.membership = membership
        return self.get_response(request)


class AuditContextMiddleware:
    """Keeps the current request where tenants.audit.audit_record finds the actor (user, token, webhook) and IP."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = audit_request_set(request)
        try:
            return self.get_response(request)
        finally:
            audit_request_reset(token)
