def tenant_context(request):
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    return {
        "current_tenant": tenant if tenant is not None and not tenant.is_public else None,
        "membership": membership,
        "can_edit": bool(membership and membership.has_role("editor")),
        "can_admin": bool(membership and membership.has_role("admin")),
    }
