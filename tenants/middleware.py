"""Who may enter a tenant's domain: members only; others get a 404 (the tenant's existence is not revealed)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import LoginView, redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import render

from tenants.audit import audit_request_reset, audit_request_set
from tenants.models import Tenant
from tenants.selectors import membership_for

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
