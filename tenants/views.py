"""Tenant settings: members and roles, secrets (write-only), API tokens, the audit log.

The operator repositories' pages are in registry/views_settings.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flowui.inputs import validation_error_text, without_nul
from tenants.models import ROLE_RANK, ApiToken, Membership, Role
from tenants.models_audit import AuditAction
from tenants.permissions import require_role
from tenants.selectors import api_tokens_for, audit_events
from tenants.services import api_token_create, api_token_revoke, membership_remove, membership_set
from tenants.services_secrets import secret_delete as tenant_secret_delete
from tenants.services_secrets import secret_set, secrets_list

ADMIN = "admin"


def _grantable_roles(membership) -> list[tuple[str, str]]:
    """An admin grants up to admin; only an owner grants owner."""
    mine = ROLE_RANK[Role(membership.role)]
    return [
        (value, label)
        for value, label in Role.choices
        if ROLE_RANK[Role(value)] <= max(mine, 2) and (value != Role.OWNER or mine >= 3)
    ]


@require_role(ADMIN)
def settings_home(request):
    return redirect("tenant_members")


@require_role(ADMIN)
def members(request):
    errors = []
    email = ""
    if request.method == "POST":
        email = request.POST.get("email", "").strip()
        role = request.POST.get("role", Role.VIEWER)
        if role not in dict(_grantable_roles(request.membership)):
            errors.append("You cannot grant that role.")
        user = get_user_model().objects.filter(email__iexact=email).first() if email else None
        if not email:
            errors.append("Give the e-mail address of an existing user.")
        elif user is None:
            errors.append(f"No user has the e-mail address {email}. They need an account first.")
        elif Membership.objects.filter(user=user, tenant=request.tenant).exists():
            errors.append(f"{email} is a member already; change their role below.")
        if not errors:
            membership_set(user=user, tenant=request.tenant, role=role)
            messages.success(request, f"Added {user.get_username()} as {role}.")
            return redirect("tenant_members")
    rows = Membership.objects.filter(tenant=request.tenant).select_related("user").order_by("user__username")
    context = {
        "memberships": rows,
        "roles": _grantable_roles(request.membership),
        "errors": errors,
        "email": email,
        "section": "members",
    }
    return render(request, "tenants/members.html", context, status=400 if errors else 200)


@require_POST
@require_role(ADMIN)
def member_change(request, user_id: int):
    target = Membership.objects.filter(tenant=request.tenant, user_id=user_id).select_related("user").first()
    if target is None:
        raise Http404("No such member.")
    if target.user_id == request.user.pk:
        messages.error(request, "You cannot change or remove your own membership; ask another admin.")
        return redirect("tenant_members")
    mine = ROLE_RANK[Role(request.membership.role)]
    if ROLE_RANK[Role(target.role)] > mine:
        raise PermissionDenied("You cannot change a member with a higher role than yours.")
    if request.POST.get("action") == "remove":
        membership_remove(user=target.user, tenant=request.tenant)
        messages.success(request, f"Removed {target.user.get_username()}.")
        return redirect("tenant_members")
    role = request.POST.get("role", "")
    if role not in dict(_grantable_roles(request.membership)):
        messages.error(request, "You cannot grant that role.")
        return redirect("tenant_members")
    membership_set(user=target.user, tenant=request.tenant, role=role)
    messages.success(request, f"{target.user.get_username()} is now {role}.")
    return redirect("tenant_members")


# --- secrets ----------------------------------------------------------------------------------
@require_role(ADMIN)
def secrets(request):
    errors = []
    name = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        try:
            secret_set(tenant=request.tenant, name=name, value=request.POST.get("value", ""))
        except ValidationError as exc:
            errors.append(validation_error_text(exc))
        else:
            messages.success(request, f"Saved secret {name}. Its value is not shown again.")
            return redirect("tenant_secrets")
    context = {"secrets": secrets_list(tenant=request.tenant), "errors": errors, "name": name, "section": "secrets"}
    return render(request, "tenants/secrets.html", context, status=400 if errors else 200)


@require_POST
@require_role(ADMIN)
def secret_delete(request, name: str):
    if tenant_secret_delete(tenant=request.tenant, name=name):
        messages.success(request, f"Deleted secret {name}.")
    return redirect("tenant_secrets")


# --- API tokens (every member, their own) -------------------------------------------------------
def _token_roles(membership) -> list[tuple[str, str]]:
    mine = ROLE_RANK[Role(membership.role)]
    return [(v, label) for v, label in ApiToken.TokenRole.choices if ROLE_RANK[Role(v)] <= mine]


@require_role(Role.VIEWER)
def tokens(request):
    """Create (the key is shown on the answer page only), list and revoke the member's own API tokens."""
    errors, created_key = [], None
    form = {"name": "", "role": _token_roles(request.membership)[-1][0], "expires_in_days": ""}
    if request.method == "POST":
        form = {key: request.POST.get(key, default).strip() for key, default in form.items()}
        days = form["expires_in_days"]
        try:
            if days and not days.isdigit():
                raise ValidationError({"expires_in_days": "A whole number of days, or empty for no expiry."})
            _, created_key = api_token_create(
                user=request.user,
                tenant=request.tenant,
                name=form["name"],
                role=form["role"],
                expires_in_days=int(days) if days else None,
                max_role=request.membership.role,
            )
        except ValidationError as exc:
            errors.append(validation_error_text(exc))
    context = {
        "tokens": api_tokens_for(user=request.user, tenant=request.tenant),
        "roles": _token_roles(request.membership),
        "errors": errors,
        "form": form,
        "created_key": created_key,
        "section": "tokens",
    }
    return render(request, "tenants/tokens.html", context, status=400 if errors else 200)


@require_POST
@require_role(Role.VIEWER)
def token_revoke(request, token_id: int):
    token = api_tokens_for(user=request.user, tenant=request.tenant).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token of yours.")
    api_token_revoke(token=token)
    messages.success(request, f"Revoked token {token.name}; its key no longer works.")
    return redirect("tenant_tokens")


# --- audit log (admins) -------------------------------------------------------------------------
AUDIT_PAGE = 50


@require_role(ADMIN)
def audit(request):
    action = request.GET.get("action", "")
    if action not in AuditAction.values:
        action = ""
    actor = without_nul(request.GET.get("actor"), max_chars=200)
    page = request.GET.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    rows = list(
        audit_events(tenant=request.tenant, action=action, actor=actor)[(page - 1) * AUDIT_PAGE : page * AUDIT_PAGE + 1]
    )
    context = {
        "events": rows[:AUDIT_PAGE],
        "has_next": len(rows) > AUDIT_PAGE,
        "page": page,
        "action": action,
        "actor": actor,
        "actions": AuditAction.choices,
        "section": "audit",
    }
    return render(request, "tenants/audit.html", context)
