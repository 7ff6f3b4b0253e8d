"""Role checks for views (portal) and API views (DRF). Enforced server-side, never only in templates."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from tenants.models import Role
from tenants.selectors import membership_for


def require_role(minimum: str):
    """View decorator: the member must have at least `minimum` (viewer < editor < admin < owner)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or not membership.has_role(minimum):
                raise PermissionDenied(f"This needs the {Role(minimum).label.lower()} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class TenantRolePermission(BasePermission):
    """DRF: the user is a member of the request's tenant; unsafe methods need `write_role`."""

    read_role = Role.VIEWER
    write_role = Role.EDITOR
    message = "You are not a member of this tenant with the needed role."

    def has_permission(self, request, view) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.is_public or not request.user.is_authenticated:
            return False
        membership = getattr(request, "membership", None) or membership_for(user=request.user, tenant=tenant)
        if membership is None or tenant.status != tenant.Status.ACTIVE:
            return False
        request.membership = membership
        needed = getattr(view, "required_role", None) or (
            self.read_role if request.method in ("GET", "HEAD", "OPTIONS") else self.write_role
        )
        return membership.has_role(needed)
