"""Recording the audit log from the services: `audit_record(tenant=..., action=..., obj...)`.

Who acted and from where comes from the current request, which tenants.middleware.AuditContextMiddleware
keeps in a context variable: an API token (request.api_token, set by the token authentication), a webhook
(request.audit_webhook, set by the webhook view), else the logged-in user; the IP is REMOTE_ADDR (a proxy in
front must set it; X-Forwarded-For is not trusted). Outside a request (Celery, management commands) the actor
is "system" unless a user is passed.
"""

from __future__ import annotations

import contextvars
import logging

from django.conf import settings
from django.db import connection

from tenants.models import Tenant
from tenants.models_audit import AuditAction, AuditEvent

logger = logging.getLogger(__name__)

_request: contextvars.ContextVar = contextvars.ContextVar("flowui_audit_request", default=None)


def audit_request_set(request):
    return _request.set(request)


def audit_request_reset(token) -> None:
    _request.reset(token)


def _actor(user=None) -> dict:
    request = _request.get()
    webhook = getattr(request, "audit_webhook", None) if request is not None else None
    if webhook is not None:
        return {
            "actor_type": AuditEvent.ActorType.WEBHOOK,
            "actor_id": str(webhook.pk),
            "actor_name": f"webhook {webhook.name}",
        }
    token = getattr(request, "api_token", None) if request is not None else None
    if token is not None:
        return {
            "actor_type": AuditEvent.ActorType.TOKEN,
            "actor_id": str(token.pk),
            "actor_name": f"{token.user.get_username()} (token {token.name}, flw_{token.key_prefix})",
        }
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return {"actor_type": AuditEvent.ActorType.USER, "actor_id": str(user.pk), "actor_name": user.get_username()}
    return {"actor_type": AuditEvent.ActorType.SYSTEM, "actor_id": "", "actor_name": "system"}


def _ip() -> str | None:
    request = _request.get()
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


CURRENT_TENANT = object()  # audit_record's default: the tenant of the database connection (None: the platform)


def _connection_tenant():
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return None
    if isinstance(tenant, Tenant):
        return tenant
    return Tenant.objects.filter(schema_name=tenant.schema_name).first()  # a schema_context's stand-in


def audit_record(
    *,
    tenant=CURRENT_TENANT,
    action: str,
    object_type: str = "",
    object_id: object = "",
    object_repr: str = "",
    detail: str = "",
    user=None,
) -> AuditEvent:
    """One audit row for `action` (tenants.models_audit.AuditAction) on an object of `tenant` (None: a
    platform-wide object such as a shared repository; by default the tenant whose schema is in use)."""
    AuditAction(action)  # an unknown action is a programming error
    if tenant is CURRENT_TENANT:
        tenant = _connection_tenant()
    return AuditEvent.objects.create(
        tenant=tenant if tenant is not None and not getattr(tenant, "is_public", False) else None,
        action=action,
        object_type=object_type[:32],
        object_id=str(object_id)[:250],
        object_repr=str(object_repr)[:250],
        detail=str(detail)[:500],
        ip=_ip(),
        **_actor(user),
    )
